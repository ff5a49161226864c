"""Mel cepstral distortion (MCD, Kubichek 1993) of a generated WAV against the reference WAV.

Both signals (PCM WAV, 8 to 32 bits, channels averaged; the prediction resampled to the
reference's rate) become mel cepstra the way ``python_speech_features.mfcc`` computes them:
pre-emphasis 0.97, 25 ms Hamming frames every 10 ms (the last zero-padded), power spectrum of
an FFT of the next power of two, 26 triangular mel filters from 0 Hz to half the rate, natural
log (0 replaced by the float epsilon), orthonormal DCT-II, coefficients 1..12 (c0, the energy,
left out). The two sequences are aligned by dynamic time warping (Euclidean frame distance,
steps (1, 1), (1, 0), (0, 1) of weight 1, ties to the diagonal) and
MCD = 10 / ln 10 * sqrt(2) * the mean over the warping path of ||c - c'||, in dB.
A missing or unreadable prediction is silence as long as the reference.
"""

from __future__ import annotations

import math
import os
import wave

import numpy as np

PREEMPH, WINLEN, WINSTEP, NFILT, NCEP = 0.97, 0.025, 0.01, 26, 13
MAX_FRAMES = 6000  # one minute: DTW holds a frames x frames table
K = 10.0 / math.log(10.0) * math.sqrt(2.0)


def read_wav(path: str | None) -> tuple[np.ndarray, int] | None:
    """(mono samples in [-1, 1], rate) of a PCM WAV file, or None."""
    if not path or not os.path.isfile(path):  # a FIFO or device would block or never end
        return None
    try:
        with wave.open(path, "rb") as w:
            width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
            raw = w.readframes(w.getnframes())
    except (OSError, EOFError, wave.Error):
        return None
    if width == 1:
        x = (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) / 128.0
    elif width == 2:
        x = np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = np.where(v >= 1 << 23, v - (1 << 24), v).astype(np.float64) / float(1 << 23)
    elif width == 4:
        x = np.frombuffer(raw, dtype="<i4").astype(np.float64) / float(1 << 31)
    else:
        return None
    if channels > 1:
        x = x[: len(x) // channels * channels].reshape(-1, channels).mean(axis=1)
    return x, rate


def _mel(hz: np.ndarray | float) -> np.ndarray | float:
    return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)


def _hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_cepstrum(x: np.ndarray, rate: int) -> np.ndarray:
    """Frames x 12 mel-cepstral coefficients (c1..c12) of a signal (see the module's doc)."""
    from scipy.fft import dct

    x = np.append(x[:1], x[1:] - PREEMPH * x[:-1])
    flen = int(math.floor(WINLEN * rate + 0.5))
    step = int(math.floor(WINSTEP * rate + 0.5))
    n = 1 if len(x) <= flen else 1 + int(math.ceil((len(x) - flen) / step))
    x = np.concatenate([x, np.zeros(max(0, (n - 1) * step + flen - len(x)))])
    frames = x[np.arange(flen)[None, :] + step * np.arange(n)[:, None]] * np.hamming(flen)
    nfft = 1 << max(0, (flen - 1).bit_length())
    power = np.abs(np.fft.rfft(frames, nfft)) ** 2 / nfft
    edges = np.floor((nfft + 1) * _hz(np.linspace(0.0, float(_mel(rate / 2)), NFILT + 2)) / rate).astype(int)
    bank = np.zeros((NFILT, nfft // 2 + 1))
    for j in range(NFILT):
        lo, mid, hi = edges[j], edges[j + 1], edges[j + 2]
        for i in range(lo, mid):
            bank[j, i] = (i - lo) / (mid - lo)
        for i in range(mid, hi):
            bank[j, i] = (hi - i) / (hi - mid)
    energies = power @ bank.T
    energies = np.where(energies == 0, np.finfo(float).eps, energies)
    return dct(np.log(energies), type=2, axis=1, norm="ortho")[:, 1:NCEP]


def dtw_path(a: np.ndarray, b: np.ndarray) -> list[tuple[int, int]]:
    """The DTW path of two feature sequences (see the module's doc), start to end."""
    cost = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))
    n, m = cost.shape
    acc = np.full((n, m), np.inf)
    acc[0, 0] = cost[0, 0]
    for d in range(1, n + m - 1):  # anti-diagonals: each cell needs the two before it
        i = np.arange(max(0, d - m + 1), min(n, d + 1))
        j = d - i
        best = np.full(i.shape, np.inf)
        ok = (i > 0) & (j > 0)
        best[ok] = acc[i[ok] - 1, j[ok] - 1]
        ok = i > 0
        best[ok] = np.minimum(best[ok], acc[i[ok] - 1, j[ok]])
        ok = j > 0
        best[ok] = np.minimum(best[ok], acc[i[ok], j[ok] - 1])
        acc[i, j] = cost[i, j] + best
    path = [(n - 1, m - 1)]
    i, j = n - 1, m - 1
    while i > 0 or j > 0:
        steps = [(i - 1, j - 1), (i - 1, j), (i, j - 1)]
        i, j = min((s for s in steps if s[0] >= 0 and s[1] >= 0), key=lambda s: acc[s])
        path.append((i, j))
    return path[::-1]


def mcd(pred: str | None, ref: str | None) -> float | None:
    """Mel cepstral distortion in dB of a generated WAV against the reference."""
    r = read_wav(ref)
    if r is None or len(r[0]) == 0:
        return None
    p = read_wav(pred)
    if p is None or len(p[0]) == 0:
        p = (np.zeros(len(r[0])), r[1])
    elif p[1] != r[1]:
        from scipy.signal import resample_poly

        g = math.gcd(p[1], r[1])
        p = (resample_poly(p[0], r[1] // g, p[1] // g), r[1])
    cr, cp = mel_cepstrum(r[0], r[1])[:MAX_FRAMES], mel_cepstrum(p[0], p[1])[:MAX_FRAMES]
    path = dtw_path(cr, cp)
    return float(K * np.mean([np.linalg.norm(cr[i] - cp[j]) for i, j in path]))
