"""PCC of generated music against the reference music (glc's definition, compiler/udfs/chroma.py):
Pearson's r of the pooled pitch-class (chroma) profiles of the two WAVs.

The UDF (numpy, blocks of frames) is checked against an independent implementation written
differently: scipy's WAV reader, a frame-by-frame loop with a full complex FFT and scipy's Hann
window, bins mapped to pitch classes one by one with ``math.log2`` and ``round``, and
``scipy.stats.pearsonr``. Hypothesis draws tones, noise, silence, stereo, sample widths, rates
and lengths; hand cases pin identical audio (100), a tone against the same tone a semitone up
(-100/11), silence and missing files (0); a project scores a task of music end to end.
"""

from __future__ import annotations

import math
import warnings
import wave
from pathlib import Path

import numpy as np
import pytest
from glc.compiler.udfs.chroma import chroma_pcc, frame_sizes
from helpers.examples import examples
from helpers.metric_project import add_task, new_project, sql_rows, write_predictions
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glc.workspace import Workspace

RATES = (8000, 11025, 16000, 22050, 44100, 48000)


def write_wav(path: Path, samples: np.ndarray, rate: int, width: int = 2) -> Path:
    """Samples in [-1, 1] (frames x channels, or one channel) as PCM of ``width`` bytes."""
    x = np.clip(np.asarray(samples, dtype=np.float64), -1.0, 1.0)
    x = x if x.ndim == 2 else x[:, None]
    if width == 1:
        data = np.round(x * 127 + 128).astype(np.uint8).tobytes()
    elif width == 2:
        data = np.round(x * 32767).astype("<i2").tobytes()
    else:
        data = np.round(x * 2147483000).astype("<i4").tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(x.shape[1])
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data)
    return path


# ------------------------------------------------------------------------ the independent reference


def reference_profile(path: Path | None) -> np.ndarray | None:
    """The 12 pooled pitch-class powers of a WAV, written out frame by frame and bin by bin."""
    from scipy.io import wavfile
    from scipy.signal import get_window

    if path is None or not Path(path).is_file():
        return None
    rate, data = wavfile.read(str(path))
    x = data.astype(np.float64)
    if data.dtype == np.uint8:
        x = x - 128.0
    if x.ndim == 2:
        x = x.mean(axis=1)
    n = rate // 4
    hop = n // 2
    starts = [0]
    while starts[-1] + n < len(x):
        starts.append(starts[-1] + hop)
    window = get_window("hann", n)
    classes = {}
    for k in range(1, n // 2 + 1):
        midi = round(69 + 12 * math.log2(k * rate / n / 440.0))
        if 36 <= midi <= 108:
            classes[k] = midi % 12
    profile = [0.0] * 12
    for s in starts:
        frame = np.zeros(n)
        piece = x[s:s + n]
        frame[:len(piece)] = piece
        power = np.abs(np.fft.fft(frame * window)[: n // 2 + 1]) ** 2
        for k, c in classes.items():
            profile[c] += float(power[k])
    return np.array(profile)


def reference_pcc(pred: Path | None, ref: Path) -> float | None:
    from scipy.stats import pearsonr

    r = reference_profile(ref)
    if r is None:
        return None
    p = reference_profile(pred)
    if p is None:
        return 0.0  # a missing generated file is silence
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a constant input: scipy warns and returns NaN
        value = float(pearsonr(p, r)[0])
    return 0.0 if math.isnan(value) else value


def tone(freqs: list[float], seconds: float, rate: int, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return sum((amp / len(freqs) * np.sin(2 * np.pi * f * t) for f in freqs), np.zeros(len(t)))


# ------------------------------------------------------------------------ hand cases


def test_hand_cases(tmp_path: Path) -> None:
    a4 = write_wav(tmp_path / "a4.wav", tone([440.0], 1.0, 16000), 16000)
    a4_again = write_wav(tmp_path / "a4b.wav", tone([440.0], 1.0, 16000), 16000)
    up = write_wav(tmp_path / "as4.wav", tone([440.0 * 2 ** (1 / 12)], 1.0, 16000), 16000)
    chord = write_wav(tmp_path / "chord.wav", tone([261.63, 329.63, 392.0], 1.5, 22050), 22050)
    silence = write_wav(tmp_path / "silence.wav", np.zeros(16000), 16000)
    # identical audio: 1 (the task score 100)
    assert chord_pcc_pair(a4, a4_again) == pytest.approx(1.0, abs=1e-9)
    assert chroma_pcc(str(chord), str(chord)) == pytest.approx(1.0, abs=1e-9)
    # a pure tone against the same tone a semitone up: two one-hot profiles, r = -1/11
    assert chroma_pcc(str(up), str(a4)) == pytest.approx(-1 / 11, abs=2e-3)
    assert chroma_pcc(str(up), str(a4)) == pytest.approx(reference_pcc(up, a4), abs=1e-9)
    # the same tone at another rate and length: the profiles are pooled, so no alignment is needed
    long_a4 = write_wav(tmp_path / "a4_44k.wav", tone([440.0], 2.7, 44100), 44100)
    assert chroma_pcc(str(long_a4), str(a4)) == pytest.approx(1.0, abs=1e-6)
    # an octave apart is the same pitch class
    a5 = write_wav(tmp_path / "a5.wav", tone([880.0], 1.0, 16000), 16000)
    assert chroma_pcc(str(a5), str(a4)) == pytest.approx(1.0, abs=1e-6)
    # silence (either side), a missing or unreadable generated file: 0; an unreadable reference: no value
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not a wave file")
    assert chroma_pcc(str(silence), str(a4)) == 0.0
    assert chroma_pcc(str(a4), str(silence)) == 0.0
    assert chroma_pcc(None, str(a4)) == 0.0
    assert chroma_pcc(str(tmp_path / "absent.wav"), str(a4)) == 0.0
    assert chroma_pcc(str(broken), str(a4)) == 0.0
    assert chroma_pcc(str(a4), str(broken)) is None and chroma_pcc(str(a4), None) is None
    assert chroma_pcc(str(silence), str(silence)) == 0.0


def chord_pcc_pair(a: Path, b: Path) -> float | None:
    value = chroma_pcc(str(a), str(b))
    assert value == pytest.approx(reference_pcc(a, b), abs=1e-9)
    return value


def test_no_bin_lies_on_a_rounding_boundary() -> None:
    """Bins are assigned by rounding a MIDI number; at the rates used here none lies within 1e-6
    of a half semitone, so float error cannot move a bin between the two implementations."""
    for rate in RATES:
        n, _ = frame_sizes(rate)
        k = np.arange(1, n // 2 + 1)
        midi = 69 + 12 * np.log2(k * rate / n / 440.0)
        frac = np.abs(midi - np.floor(midi) - 0.5)
        assert frac.min() > 1e-6, rate


# ------------------------------------------------------------------------ differential test

signal = st.fixed_dictionaries({
    "rate": st.sampled_from(RATES),
    "seconds": st.one_of(st.just(0.0), st.floats(0.001, 1.2)),
    "tones": st.lists(st.tuples(st.floats(20.0, 6000.0), st.floats(0.05, 1.0)), max_size=4),
    "noise": st.one_of(st.just(0.0), st.floats(0.001, 0.5)),
    "seed": st.integers(0, 2**32 - 1),
    "channels": st.sampled_from([1, 2]),
    "width": st.sampled_from([1, 2, 4]),
})


def render(spec: dict, path: Path) -> Path:
    rate, n = spec["rate"], int(spec["seconds"] * spec["rate"])
    t = np.arange(n) / rate
    x = np.zeros(n)
    for f, a in spec["tones"]:
        x += a * np.sin(2 * np.pi * f * t + f)
    rng = np.random.default_rng(spec["seed"])
    x += spec["noise"] * rng.standard_normal(n)
    peak = np.max(np.abs(x)) if n else 0.0
    x = x / peak * 0.9 if peak > 0.9 else x
    if spec["channels"] == 2:
        x = np.stack([x, 0.5 * x + 0.1 * rng.standard_normal(n)], axis=1)
    return write_wav(path, x, rate, spec["width"])


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pred=signal, ref=signal, same=st.booleans())
def test_udf_agrees_with_the_independent_implementation(tmp_path: Path, pred: dict, ref: dict, same: bool) -> None:
    p = render(pred, tmp_path / "pred.wav")
    r = p if same else render(ref, tmp_path / "ref.wav")
    got, want = chroma_pcc(str(p), str(r)), reference_pcc(p, r)
    assert got is not None and want is not None
    assert got == pytest.approx(want, abs=1e-9), (got, want)
    assert -1.0 <= got <= 1.0


# ------------------------------------------------------------------------ end to end


@pytest.mark.slow  # several seconds: the fast tier keeps cheaper cases of this file (tests/README.md)
def test_a_music_task_is_scored_through_a_project(tmp_path: Path) -> None:
    """A task whose reference is audio: glc run stores per instance the chroma PCC of the imported
    WAV against the reference, and the task score is 100 x their mean (a missing file: 0)."""
    root = new_project(tmp_path / "p")
    media = root / "data" / "music"
    media.mkdir(parents=True)
    refs = {"m1": [261.63, 329.63, 392.0], "m2": [440.0], "m3": [293.66, 369.99], "m4": [196.0]}
    gens = {"m1": [261.63, 329.63, 392.0], "m2": [466.16], "m3": [293.66, 440.0], "m4": None}
    for iid, freqs in refs.items():
        write_wav(media / f"{iid}.wav", tone(freqs, 1.0, 16000), 16000)
    tid = add_task(root, "pcc", "audio", [(i, {"prompt": "pop music"}, f"music/{i}.wav") for i in refs],
                   modality="audio", paradigm="generation")
    (root / "gen").mkdir()
    preds = [(iid, str(write_wav(root / "gen" / f"{iid}.wav", tone(freqs, 0.8, 22050), 22050)))
             for iid, freqs in gens.items() if freqs is not None]
    write_predictions(root / "preds.jsonl", "m", tid, preds)
    ws = Workspace(root)
    ws.import_predictions(root / "preds.jsonl")
    ws.run(infer=False)
    values = dict(sql_rows(ws, "SELECT instance_id, value FROM instance_scores__pcc WHERE model = 'm'"))
    want = {iid: reference_pcc(root / "gen" / f"{iid}.wav" if gens[iid] else None, media / f"{iid}.wav")
            for iid in refs}
    assert values.keys() == want.keys()
    for iid in refs:
        assert values[iid] == pytest.approx(want[iid], abs=1e-9), iid
    # the same chord (at another rate and length), and no generated file
    assert values["m1"] == pytest.approx(1.0, abs=1e-4) and values["m4"] == 0.0
    (score,) = sql_rows(ws, "SELECT score FROM task_scores WHERE model = 'm' AND task_id = ?", tid)[0]
    assert score == pytest.approx(100 * sum(want.values()) / len(want), abs=1e-9)
