"""Server-rendered web pages: the Citizen Corner (``/citizen/``) and the shared base of the officials' pages.

``rendering.render`` renders a template of ``templates/`` in the request's language (``i18n``); ``router`` holds the
public Citizen Corner routes; ``charts`` draws the SVG charts and the village map on the server.
"""
