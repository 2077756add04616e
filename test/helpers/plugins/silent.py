"""Test plugin: reads its init and never says hello (a plugin stuck at start-up)."""
import signal
import sys

sys.stdin.readline()
signal.pause()
