#!/usr/bin/env python3
"""Whisper's log-mel spectrogram in numpy, written from the published reference
(openai/whisper whisper/audio.py `log_mel_spectrogram`, and librosa.filters.mel with
htk=False, norm='slaney' for the filterbank it ships as mel_filters.npz).

It is the independent side of test/integration/whisper-mel-numpy.test.ts: the daemon's
TypeScript extractor must agree with it. Nothing here is shared with the TypeScript code.

usage: whisper_log_mel.py IN.wav OUT.f32
Reads a 16 kHz mono 16-bit WAV, pads or trims it to 30 s, and writes the [80, 3000] features
as little-endian float32, mel-major.
"""
import sys
import wave

import numpy as np

SAMPLE_RATE = 16000
N_FFT = 400
HOP_LENGTH = 160
N_MELS = 80
N_SAMPLES = 30 * SAMPLE_RATE


def hz_to_mel(freqs):
    # Slaney's auditory toolbox scale: linear below 1 kHz (200/3 Hz per mel), log above.
    freqs = np.asanyarray(freqs, dtype=np.float64)
    f_sp = 200.0 / 3
    mels = freqs / f_sp
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    above = freqs >= min_log_hz
    mels = np.where(above, min_log_mel + np.log(np.maximum(freqs, 1e-30) / min_log_hz) / logstep, mels)
    return mels


def mel_to_hz(mels):
    mels = np.asanyarray(mels, dtype=np.float64)
    f_sp = 200.0 / 3
    freqs = f_sp * mels
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    above = mels >= min_log_mel
    return np.where(above, min_log_hz * np.exp(logstep * (mels - min_log_mel)), freqs)


def mel_filters(sr, n_fft, n_mels):
    fftfreqs = np.linspace(0, sr / 2, 1 + n_fft // 2)
    mel_pts = np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2), n_mels + 2)
    mel_f = mel_to_hz(mel_pts)
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    weights = np.zeros((n_mels, 1 + n_fft // 2))
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    # norm='slaney': each triangle scaled to unit area (2 / bandwidth in Hz).
    enorm = 2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels])
    return weights * enorm[:, np.newaxis]


def log_mel_spectrogram(audio):
    audio = audio[:N_SAMPLES]
    audio = np.pad(audio, (0, N_SAMPLES - audio.shape[0]))
    # torch.stft(center=True, pad_mode='reflect', window=hann_window(400) periodic)
    padded = np.pad(audio, (N_FFT // 2, N_FFT // 2), mode="reflect")
    n_frames = 1 + (padded.shape[0] - N_FFT) // HOP_LENGTH
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)
    idx = np.arange(N_FFT)[np.newaxis, :] + HOP_LENGTH * np.arange(n_frames)[:, np.newaxis]
    frames = padded[idx] * window
    stft = np.fft.rfft(frames, n=N_FFT, axis=1)
    # whisper drops the last frame: stft[..., :-1]
    magnitudes = (np.abs(stft[:-1]) ** 2).T
    mel_spec = mel_filters(SAMPLE_RATE, N_FFT, N_MELS) @ magnitudes
    log_spec = np.log10(np.clip(mel_spec, 1e-10, None))
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    return (log_spec + 4.0) / 4.0


def read_wav(path):
    with wave.open(path, "rb") as w:
        if w.getframerate() != SAMPLE_RATE or w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise SystemExit(f"{path}: need 16 kHz mono 16-bit PCM")
        raw = w.readframes(w.getnframes())
    return np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    features = log_mel_spectrogram(read_wav(sys.argv[1]))
    assert features.shape == (N_MELS, N_SAMPLES // HOP_LENGTH), features.shape
    features.astype("<f4").tofile(sys.argv[2])


if __name__ == "__main__":
    main()
