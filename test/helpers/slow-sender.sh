#!/bin/sh
# Stand-in for systemd-notify that takes its time (tests of the SdNotify queue bound).
sleep 0.2
