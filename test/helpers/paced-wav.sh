#!/bin/sh
# A stand-in microphone for tests: plays the audio file $1 to stdout as raw s16le, 16 kHz, mono,
# at real-time pace (ffmpeg -re reads the input at its native rate), then exits like an unplugged
# device would. Used as the mic source's `custom` recorder command.
exec ffmpeg -hide_banner -loglevel error -nostdin -re -i "$1" -f s16le -acodec pcm_s16le -ar 16000 -ac 1 -
