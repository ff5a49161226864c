"""PCC of generated music against the reference music: glc's definition (no official script found).

General-Bench scores PopMusicGeneration with PCC while its reference is the music audio itself;
which numbers the official evaluation correlates is not published. glc correlates what the two
pieces share when they are "the same music": their pitch-class (chroma) profiles. Per instance:

1. Each WAV (PCM 8 to 32 bits, channels averaged; read as MCD reads it) is cut into frames of
   ``N = rate // 4`` samples (a quarter second, so bins lie ``rate / N`` ≈ 4 Hz apart at any rate)
   every ``H = N // 2`` samples, starting at sample 0; the signal is zero-padded at its end to
   fill the last frame (a signal of at most N samples is one frame). Each frame is multiplied by
   the periodic Hann window ``0.5 - 0.5 cos(2πn/N)``, n = 0..N-1 (``scipy.signal.get_window("hann",
   N)``), and its real FFT of length N gives the power ``|X(k)|²`` of bins k = 0..N//2.
2. Bin k (k ≥ 1) has frequency ``f = k · rate / N`` and nearest MIDI note
   ``m = round(69 + 12 log2(f / 440))``; bins with m from 36 (C2, 65.4 Hz) to 108 (C8, 4186 Hz)
   add their power to pitch class ``m mod 12`` (0 = C, ..., 9 = A, 11 = B); other bins are left
   out. The profile is the 12 sums over every frame of the piece (pooled over time, so two pieces
   of different lengths compare without alignment, and loudness cancels: Pearson is
   scale-free).
3. The instance's value is Pearson's r of the two 12-number profiles (as ``scipy.stats.pearsonr``),
   and 0 where r is undefined: either profile constant, which includes silence, no power between
   C2 and C8, and a missing or unreadable prediction (silence). An unreadable reference gives no
   value (the instance is left out, as MCD does).

The task score (sql/macros/metrics/correlation.sql) is 100 × the mean of the instance values.
The frames are summed in blocks of ``BLOCK`` frames, vectorized with numpy.
"""

from __future__ import annotations

import numpy as np
from glc.compiler.udfs.numbers import pearson
from glc.compiler.udfs.speech import read_wav

LOW_MIDI, HIGH_MIDI = 36, 108  # C2 .. C8
BLOCK = 256  # frames per FFT block: bounds the memory a long piece needs


def frame_sizes(rate: int) -> tuple[int, int]:
    """(frame length N, hop H) in samples at ``rate``."""
    n = max(rate // 4, 2)  # rates below 8 Hz hold no pitch between C2 and C8 anyway
    return n, max(n // 2, 1)


def pitch_classes(rate: int, n: int) -> np.ndarray:
    """Per FFT bin 0..n//2: its pitch class 0..11, or -1 when it is left out."""
    k = np.arange(n // 2 + 1, dtype=np.float64)
    out = np.full(k.shape, -1, dtype=np.int64)
    f = k[1:] * rate / n
    midi = np.rint(69.0 + 12.0 * np.log2(f / 440.0)).astype(np.int64)
    keep = (midi >= LOW_MIDI) & (midi <= HIGH_MIDI)
    out[1:][keep] = midi[keep] % 12
    return out


def chroma_profile(x: np.ndarray, rate: int) -> np.ndarray:
    """The 12 pooled pitch-class powers of a mono signal (see the module's doc)."""
    n, hop = frame_sizes(rate)
    x = np.asarray(x, dtype=np.float64)
    frames = 1 if len(x) <= n else 1 + -(-(len(x) - n) // hop)
    x = np.concatenate([x, np.zeros((frames - 1) * hop + n - len(x))])
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)
    power = np.zeros(n // 2 + 1)
    for start in range(0, frames, BLOCK):
        idx = np.arange(start, min(start + BLOCK, frames))[:, None] * hop + np.arange(n)[None, :]
        spectrum = np.fft.rfft(x[idx] * window, n=n, axis=1)
        power += (spectrum.real ** 2 + spectrum.imag ** 2).sum(axis=0)
    classes = pitch_classes(rate, n)
    keep = classes >= 0
    return np.bincount(classes[keep], weights=power[keep], minlength=12)


def chroma_pcc(pred: str | None, ref: str | None) -> float | None:
    """Pearson's r of the chroma profiles of a generated WAV and the reference WAV (0 where
    undefined; None when the reference cannot be read)."""
    r = read_wav(ref)
    if r is None or r[1] <= 0:
        return None
    p = read_wav(pred)
    ref_profile = chroma_profile(r[0], r[1])
    if p is None or p[1] <= 0 or len(p[0]) == 0:
        return 0.0  # silence
    pred_profile = chroma_profile(p[0], p[1])
    if not (np.isfinite(ref_profile).all() and np.isfinite(pred_profile).all()):
        return 0.0
    return pearson(pred_profile.tolist(), ref_profile.tolist())
