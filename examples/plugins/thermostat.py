"""A thermostat as an edgeloom tool plugin: tools `set_target` and `status`, fed by the BME280
plugin's readings; publishes plugin/<id>/state whenever the target or the temperature changes.

    plugins:
      - id: thermostat
        command: [python3, examples/plugins/thermostat.py]
        config: { target_c: 20, hysteresis_c: 0.5 }
        offer_tools: true     # the cloud LLM and MQTT commands may call thermostat.set_target
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sdk", "python"))
from edgeloom_plugin import Plugin  # noqa: E402

plugin = Plugin("thermostat", "1.0.0")
plugin.publishes("state")
state = {"target_c": 20.0, "current_c": None, "heating": False, "hysteresis_c": 0.5}


@plugin.on_init
def init(config):
    state["target_c"] = float(config.get("target_c", 20))
    state["hysteresis_c"] = float(config.get("hysteresis_c", 0.5))


def decide():
    cur = state["current_c"]
    if cur is not None:
        if cur < state["target_c"] - state["hysteresis_c"]:
            state["heating"] = True
        elif cur > state["target_c"] + state["hysteresis_c"]:
            state["heating"] = False
    plugin.publish("state", dict(state))


@plugin.subscribe("plugin/+/reading")
def on_reading(topic, payload, ts):
    if isinstance(payload.get("temperature_c"), (int, float)):
        state["current_c"] = payload["temperature_c"]
        decide()


@plugin.tool(
    "set_target",
    "Set the target room temperature in degrees Celsius.",
    {
        "type": "object",
        "properties": {"celsius": {"type": "number", "minimum": 5, "maximum": 30}},
        "required": ["celsius"],
        "additionalProperties": False,
    },
)
def set_target(args):
    state["target_c"] = float(args["celsius"])
    decide()
    return dict(state)


@plugin.tool("status", "The thermostat's target, current temperature and whether it heats.")
def status(args):
    return dict(state)


plugin.run()
