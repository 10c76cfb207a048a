"""Administrative units keyed by LGD code (state to village), and habitations under villages."""
