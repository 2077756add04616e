"""A BME280 temperature/pressure/humidity sensor as an edgeloom plugin.

Simulated: with `config.file` set, each reading is the next line of that file
(`temperature_c pressure_hpa humidity_pct`, cycling), so it runs anywhere, in CI and in replays.
The real I2C read path is read_i2c() below (needs the `smbus2` package and /dev/i2c-<bus>; not
used in CI). Publishes plugin/<id>/reading every `interval_s`.

    plugins:
      - id: bme280
        command: [python3, examples/plugins/bme280.py]
        sandbox: { network: false }
        config: { file: examples/plugins/bme280-readings.txt, interval_s: 1 }
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sdk", "python"))
from edgeloom_plugin import Plugin  # noqa: E402

plugin = Plugin("bme280", "1.0.0")
plugin.publishes("reading")
state = {"lines": [], "next": 0}


def read_i2c(bus, address):
    """The real sensor (Bosch BME280 datasheet, section 4: compensation of the raw ADC values)."""
    from smbus2 import SMBus  # optional dependency, only on a device with the sensor

    with SMBus(bus) as i2c:
        i2c.write_byte_data(address, 0xF2, 0x01)  # ctrl_hum: humidity oversampling x1
        i2c.write_byte_data(address, 0xF4, 0x27)  # ctrl_meas: temp/pressure x1, normal mode
        raw = i2c.read_i2c_block_data(address, 0xF7, 8)
    # Compensation needs the calibration registers 0x88..0xA1 and 0xE1..0xE7: left to the
    # maker's board (see the datasheet); the raw values are returned here.
    return {"raw": raw}


@plugin.on_init
def init(config):
    path = config.get("file")
    if path:
        with open(path, encoding="utf-8") as f:
            state["lines"] = [l.split() for l in f if l.strip() and not l.startswith("#")]
    interval = float(config.get("interval_s", 1))
    plugin.every(interval)(read)


def read():
    if state["lines"]:
        t, p, h = state["lines"][state["next"] % len(state["lines"])][:3]
        state["next"] += 1
        plugin.publish(
            "reading", {"temperature_c": float(t), "pressure_hpa": float(p), "humidity_pct": float(h)}
        )
        plugin.health(True, "simulated from file")
    else:
        cfg = plugin.config
        try:
            plugin.publish("reading", read_i2c(int(cfg.get("bus", 1)), int(cfg.get("address", 0x76))))
            plugin.health(True, "i2c")
        except Exception as e:
            plugin.health(False, "i2c read failed: %s" % e)


plugin.run()
