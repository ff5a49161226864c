"""Build the offline benchmark's data (run once; the outputs are committed).

    python data/mini/build_data.py

Sources that ship offline: sentences written for this benchmark (topics, sentiment, speech),
photos from scikit-image and scikit-learn, speech synthesized by Debian's flite and
resampled to 16 kHz mono by sox. Noise and crops use a fixed seed, so a rebuild gives the same
data apart from encoder versions.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent

TOPICS = {
    "sports": [
        "The striker scored twice in the second half and the home side won the cup final.",
        "She broke the national record in the 400 metres at the indoor championships.",
        "The coach was sacked after the team lost its sixth league match in a row.",
        "Rain delayed the tennis semi-final, which finally ended in a tie-break.",
        "The marathon runners passed the bridge at kilometre thirty, led by two Kenyans.",
        "Their goalkeeper saved a penalty in the last minute of extra time.",
    ],
    "cooking": [
        "Simmer the tomato sauce for twenty minutes, then stir in the fresh basil.",
        "Whisk the egg whites until stiff peaks form and fold them into the batter.",
        "Roast the chicken at 200 degrees and baste it with butter every half hour.",
        "Knead the dough for ten minutes and let it rise in a warm place.",
        "Season the soup with salt, pepper and a squeeze of lemon before serving.",
        "Caramelise the onions slowly in olive oil until they turn deep brown.",
    ],
    "technology": [
        "The new phone ships with a faster chip and a battery that lasts two days.",
        "Engineers patched the security flaw in the operating system overnight.",
        "The start-up released an open-source database written in Rust.",
        "Cloud providers are adding more GPUs to train larger language models.",
        "The update lets the laptop's fingerprint reader unlock encrypted drives.",
        "A bug in the compiler produced wrong code for some loop optimisations.",
    ],
    "weather": [
        "Heavy rain and strong winds are expected along the coast tomorrow morning.",
        "Temperatures will drop below freezing tonight, with frost in the valleys.",
        "A heatwave brought the hottest July day on record to the capital.",
        "Snow is forecast above 800 metres, and roads may be icy on Sunday.",
        "Thunderstorms could bring hail to the north in the late afternoon.",
        "Fog will clear by noon, leaving a sunny and mild afternoon.",
    ],
}

SENTIMENT = [
    ("I loved every minute of this film; the acting was superb.", "positive"),
    ("The hotel room was dirty and the staff were rude.", "negative"),
    ("What a wonderful surprise, thank you so much for the flowers!", "positive"),
    ("The battery died after an hour, a complete waste of money.", "negative"),
    ("Our waiter was friendly and the pasta was delicious.", "positive"),
    ("I waited forty minutes and my order was still wrong.", "negative"),
    ("This book made me laugh out loud, I recommend it to everyone.", "positive"),
    ("The concert was cancelled and nobody refunded our tickets.", "negative"),
    ("The new park is beautiful and the kids had a great time.", "positive"),
    ("The software keeps crashing and support never answers.", "negative"),
    ("A brilliant, moving story with a perfect ending.", "positive"),
    ("The flight was delayed twice and they lost my luggage.", "negative"),
    ("Fantastic value, fast delivery and excellent quality.", "positive"),
    ("The soup was cold and far too salty.", "negative"),
    ("I am so happy with how the garden turned out this year.", "positive"),
    ("Terrible sound quality, I returned the headphones the next day.", "negative"),
]

SPEECH_ASR = [
    ("Please turn off the lights in the kitchen.", "kal16"),
    ("The train to the city leaves at seven every morning.", "awb"),
    ("She opened the window and looked at the garden.", "slt"),
    ("We need more paper for the printer upstairs.", "rms"),
    ("The children played football in the park after school.", "kal16"),
    ("Can you tell me the way to the nearest station?", "awb"),
    ("My brother bought a new bicycle last week.", "slt"),
    ("The meeting has been moved to Thursday afternoon.", "rms"),
    ("Water boils at one hundred degrees at sea level.", "kal16"),
    ("I would like a cup of tea with milk, please.", "slt"),
]

SPEECH_TTS = [
    "The museum opens at nine and closes at five.",
    "Remember to water the plants while I am away.",
    "The river flows quietly past the old mill.",
    "He forgot his umbrella on the bus this morning.",
    "Our neighbours are painting their house blue.",
    "The library has a large collection of maps.",
    "Dinner will be ready in about twenty minutes.",
    "The wind blew the leaves across the road.",
]

# photo -> acceptable ImageNet class names (what the photo shows)
PHOTOS = {
    "coffee": ["espresso", "cup", "coffee mug"],
    "chelsea": ["tabby", "tiger cat", "Egyptian cat"],
    "rocket": ["missile", "projectile", "space shuttle"],
    "camera": ["tripod", "reflex camera"],
    "stereo_motorcycle": ["moped", "motor scooter"],
    "china": ["palace", "monastery", "pagoda"],
    "flower": ["daisy"],
    "clock": ["wall clock", "analog clock"],
    "horse": ["sorrel"],
}
VIDEOS = ["chelsea", "coffee", "rocket", "stereo_motorcycle", "china", "flower"]
DENOISE = ["camera", "astronaut", "coffee", "chelsea", "rocket", "brick"]
UPSCALE = ["astronaut", "coffee", "chelsea", "rocket", "china", "flower"]


def photo(name: str) -> Image.Image:
    from skimage import data
    from sklearn.datasets import load_sample_images

    if name in ("china", "flower"):
        imgs = load_sample_images()
        return Image.fromarray(imgs.images[0 if name == "china" else 1])
    arr = getattr(data, name)()
    if isinstance(arr, tuple):
        arr = arr[0]
    if arr.dtype == bool:
        arr = (arr * 255).astype(np.uint8)
    return Image.fromarray(arr).convert("RGB")


def crop_centre(im: Image.Image, size: int) -> Image.Image:
    s = min(im.size)
    left, top = (im.width - s) // 2, (im.height - s) // 2
    return im.crop((left, top, left + s, top + s)).resize((size, size), Image.Resampling.LANCZOS)


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def say(text: str, voice: str, dst: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(raw)], check=True)
        subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(dst)], check=True)


def main() -> None:
    rng = np.random.default_rng(0)
    for sub in ("nlp", "image", "video", "audio"):
        shutil.rmtree(HERE / sub, ignore_errors=True)
    rows, n = [], 0
    for i in range(6):  # interleave topics so --limit takes a mix
        for topic, texts in TOPICS.items():
            n += 1
            rows.append({"id": f"t{n:02d}", "input": {"text": texts[i]}, "output": topic})
    write_jsonl(HERE / "nlp" / "topic_classification.jsonl", rows)
    write_jsonl(HERE / "nlp" / "sentiment.jsonl",
                [{"id": f"s{i + 1:02d}", "input": {"text": t}, "output": lab} for i, (t, lab) in enumerate(SENTIMENT)])

    folder = HERE / "image" / "object_recognition"
    folder.mkdir(parents=True)
    rows = []
    for name, labels in PHOTOS.items():
        im = photo(name)
        im.thumbnail((256, 256), Image.Resampling.LANCZOS)
        im.save(folder / f"{name}.jpg", quality=85)
        rows.append({"id": name, "input": {"image": f"{name}.jpg"}, "output": labels})
    write_jsonl(folder / "data.jsonl", rows)

    folder = HERE / "image" / "denoising"
    (folder / "noisy").mkdir(parents=True)
    (folder / "clean").mkdir()
    rows = []
    for name in DENOISE:
        clean = crop_centre(photo(name).convert("L"), 128)
        noisy = np.asarray(clean, dtype=np.float64) + rng.normal(0, 20, (128, 128))
        clean.save(folder / "clean" / f"{name}.png")
        Image.fromarray(np.clip(np.round(noisy), 0, 255).astype(np.uint8)).save(folder / "noisy" / f"{name}.png")
        rows.append({"id": name, "input": {"image": f"noisy/{name}.png", "noise_sigma": 20},
                     "output": f"clean/{name}.png"})
    write_jsonl(folder / "data.jsonl", rows)

    folder = HERE / "image" / "super_resolution"
    (folder / "low").mkdir(parents=True)
    (folder / "high").mkdir()
    rows = []
    for name in UPSCALE:
        high = crop_centre(photo(name), 128)
        high.save(folder / "high" / f"{name}.png")
        high.resize((64, 64), Image.Resampling.BOX).save(folder / "low" / f"{name}.png")
        rows.append({"id": name, "input": {"image": f"low/{name}.png", "factor": 2}, "output": f"high/{name}.png"})
    write_jsonl(folder / "data.jsonl", rows)

    folder = HERE / "video" / "object_recognition"
    folder.mkdir(parents=True)
    rows = []
    for name in VIDEOS:
        im = photo(name)
        s = min(im.size)
        frames = []
        for k in range(8):  # a slow zoom towards the centre
            z = s * (1 - 0.05 * k)
            cx, cy = im.width / 2, im.height / 2
            box = (int(cx - z / 2), int(cy - z / 2), int(cx + z / 2), int(cy + z / 2))
            frames.append(im.crop(box).resize((160, 160), Image.Resampling.LANCZOS))
        frames[0].save(folder / f"{name}.gif", save_all=True, append_images=frames[1:], duration=125, loop=0)
        rows.append({"id": name, "input": {"video": f"{name}.gif", "frames": 8}, "output": PHOTOS[name]})
    write_jsonl(folder / "data.jsonl", rows)

    folder = HERE / "audio" / "speech_recognition"
    folder.mkdir(parents=True)
    rows = []
    for i, (text, voice) in enumerate(SPEECH_ASR, start=1):
        say(text, voice, folder / f"u{i:02d}.wav")
        rows.append({"id": f"u{i:02d}", "input": {"audio": f"u{i:02d}.wav", "voice": voice}, "output": text})
    write_jsonl(folder / "data.jsonl", rows)
    write_jsonl(HERE / "audio" / "speech_synthesis.jsonl",
                [{"id": f"p{i + 1:02d}", "input": {"text": t}, "output": t} for i, t in enumerate(SPEECH_TTS)])


if __name__ == "__main__":
    main()
