"""``jaldpi telemetry``: run the MQTT ingest, list silent datastreams."""

from __future__ import annotations

import json
import signal
import threading

import typer

app = typer.Typer(help="Telemetry (SensorThings): MQTT ingest, silent sensors.", no_args_is_help=True)


@app.command("mqtt")
def mqtt_command(host: str = "127.0.0.1", port: int = 1883,
                 client_id: str = typer.Option("jaldpi-telemetry", help="persistent MQTT session id"),
                 batch_size: int = 5000, max_wait: float = typer.Option(0.5, help="seconds a batch may wait"),
                 username: str = typer.Option(None, envvar="JALDPI_MQTT_USERNAME"),
                 password: str = typer.Option(None, envvar="JALDPI_MQTT_PASSWORD")) -> None:
    """Subscribe to v1.1/Datastreams(id)/Observations and v1.1/CreateObservations (QoS 1) and ingest until stopped."""
    from jaldpi.cli import console, database
    from jaldpi.config import get_settings
    from jaldpi.telemetry.ingest import TelemetryConfig
    from jaldpi.telemetry.mqtt import MqttIngestor, mqtt_principal

    settings = get_settings()
    ingestor = MqttIngestor(database(), host=host, port=port, client_id=client_id, batch_size=batch_size,
                            max_wait=max_wait, config=TelemetryConfig.from_settings(settings),
                            principal=mqtt_principal(settings.telemetry_mqtt_scope), username=username,
                            password=password).start()
    console.print(f"[green]ingesting telemetry from mqtt://{host}:{port}[/] as {client_id}; Ctrl-C stops")
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        while not done.wait(30):
            console.print(json.dumps(ingestor.snapshot()))
    except KeyboardInterrupt:
        pass
    ingestor.stop()
    print(json.dumps(ingestor.snapshot()))


@app.command("silent")
def silent_command(within: str = typer.Option(None, help="district:745 or a path")) -> None:
    """List datastreams that have not reported for k x their expected interval (as the node administrator)."""
    from jaldpi.admin_units.paths import parse_within
    from jaldpi.cli import database
    from jaldpi.config import get_settings
    from jaldpi.core.security import Grant, Principal
    from jaldpi.standard.codelists import role_permissions
    from jaldpi.telemetry.ingest import TelemetryConfig, silent_datastreams

    admin = Principal("system:cli", "system", (Grant("node_admin", "/"),), role_permissions())
    with database().unit_of_work(write=False) as session:
        found = silent_datastreams(session, admin, config=TelemetryConfig.from_settings(get_settings()),
                                   within=parse_within(within) if within else None)
        print(json.dumps([{"datastream_id": str(s.datastream_id), "name": s.name, "lgd_path": s.lgd_path,
                           "silent_for_s": s.silent_for_s} for s in found], indent=1))
