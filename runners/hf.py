"""``hf``: transformers (and torch) models, imported lazily, batched, deterministic by default.

Tasks:

* ``text-generation`` — chat models: the prompt becomes a user message (plus ``system_prompt``),
  rendered with the tokenizer's chat template, decoded greedily unless the task's generation
  settings ask for a temperature.
* ``zero-shot-classification`` — sentence embeddings (mean pooling, L2-normalized): the answer is
  the choice whose embedding (``hypothesis`` filled with the choice) is closest to the prompt's.
* ``image-classification`` / ``video-classification`` — an ImageNet classifier on the first media
  file (videos: mean of the class probabilities of up to ``frames`` evenly spaced frames); the
  answer is the top class's first name, restricted to ``choices`` when the task gives them.
* ``speech-recognition`` — Whisper on the first media file (16 kHz mono WAV; other rates are
  resampled), greedy decoding.
* ``audio-classification`` — a metric's evaluator that reads labels (E-Acc's event recognizer): a
  transformers audio-classification folder (``AutoModelForAudioClassification`` and its feature
  extractor) hears consecutive segments of ``segment_s`` seconds of the first media file (from its
  start, the last one padded with silence; mono, resampled to the extractor's rate; at most
  ``max_segments``), and names the ``top_k``
  labels of highest logit of each: a JSON list with one list of labels per segment.
* ``features`` — a metric's evaluator (FID, CLIP score ...): JSON ``{"prediction": [...],
  "reference": [...]}``, the feature vector of the generated file (``media.output``; none when
  absent) and of the reference file (``media.reference``) or else of the prompt text. Images:
  EfficientNet-Lite0's pooled last features (bundled), a CLIP model's ``get_image_features``, or
  another image model's pooled output; videos: the mean over up to ``frames`` frames; texts: a
  CLIP model's ``get_text_features`` or a sentence model's mean pooling (``all-minilm-l6-v2``).

``model`` is a bundled alias (``glc.runners.bundled.ALIASES``) or a local transformers folder.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

from glc.runners import bundled
from glc.runners.base import Request, Result, Runner, RunnerArgs, RunnerError, error_text
from pydantic import Field, field_validator

HfTask = Literal["text-generation", "zero-shot-classification", "image-classification",
                 "video-classification", "speech-recognition", "audio-classification", "features"]


class HFArgs(RunnerArgs):
    task: HfTask
    model: str = Field(min_length=1, description="a bundled alias or a local model folder")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    batch_size: int = Field(default=8, ge=1, le=1024)
    system_prompt: str | None = None
    hypothesis: str = Field(default="{}", description="zero-shot: text embedded for each choice; {} is the choice")
    frames: int = Field(default=8, ge=1, le=256)
    max_audio_s: float = Field(default=30.0, gt=0, le=30.0)
    segment_s: float = Field(default=2.0, gt=0, le=600, description="audio-classification: seconds per segment")
    top_k: int = Field(default=1, ge=1, le=100, description="audio-classification: labels named per segment")
    max_segments: int = Field(default=256, ge=1, le=100_000, description="audio-classification: segments read")

    @field_validator("model")
    @classmethod
    def _alias_or_path(cls, value: str) -> str:
        if value in bundled.ALIASES or "/" in value or value.startswith("."):
            return value
        raise ValueError(f"'{value}' is neither a bundled model ({', '.join(bundled.ALIASES)}) nor a folder path")


def pick_device(choice: str) -> str:
    import torch

    if choice == "cuda" and not torch.cuda.is_available():
        raise RunnerError("device 'cuda' asked for, but torch sees no CUDA device")
    return "cuda" if choice == "auto" and torch.cuda.is_available() else ("cpu" if choice == "auto" else choice)


def pick_dtype(choice: str, device: str) -> Any:
    import torch

    if choice == "auto":
        return torch.float16 if device == "cuda" else torch.float32
    return getattr(torch, choice)


class HFRunner(Runner):
    name: ClassVar[str] = "hf"
    Args: ClassVar[type[RunnerArgs]] = HFArgs

    def __init__(self, args: RunnerArgs, root: Path) -> None:
        super().__init__(args, root)
        self.a: HFArgs = args  # type: ignore[assignment]
        self._loaded: dict[str, Any] | None = None

    # -- identity -------------------------------------------------------------------------

    def version(self) -> str:
        from importlib.metadata import version

        return f"transformers {version('transformers')}, torch {version('torch')}"

    def model_path(self) -> Path:
        if self.a.model in bundled.ALIASES:
            return bundled.weights_file(self.a.model)
        path = (self.root / self.a.model).resolve()
        if not path.exists():
            raise RunnerError(f"model folder '{self.a.model}' does not exist (looked at {path})")
        return path

    # -- loading --------------------------------------------------------------------------

    def load(self) -> dict[str, Any]:
        if self._loaded is not None:
            return self._loaded
        import torch
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # glc draws its own progress
        torch.manual_seed(0)
        device = pick_device(self.a.device)
        dtype = pick_dtype(self.a.dtype, device)
        task, alias = self.a.task, self.a.model
        out: dict[str, Any] = {"device": device, "dtype": dtype}
        if task == "text-generation":
            if alias == "smollm2-135m-instruct":
                model, tok = bundled.load_smollm2(dtype)
            else:
                from transformers import AutoModelForCausalLM, AutoTokenizer

                path = self.model_path()
                model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, local_files_only=True)
                tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
            tok.padding_side = "left"
            if tok.pad_token is None:
                tok.pad_token = tok.eos_token
            out.update(model=model.to(device).eval(), tokenizer=tok)
        elif task == "zero-shot-classification":
            from transformers import AutoModel, AutoTokenizer

            path = bundled.minilm_dir() if alias == "all-minilm-l6-v2" else self.model_path()
            out.update(model=AutoModel.from_pretrained(path, dtype=dtype, local_files_only=True).to(device).eval(),
                       tokenizer=AutoTokenizer.from_pretrained(path, local_files_only=True))
        elif task in ("image-classification", "video-classification"):
            if alias == "efficientnet-lite0":
                out.update(model=bundled.load_efficientnet().to(device).eval(), labels=bundled.imagenet_classes(),
                           preprocess="efficientnet")
            else:
                from transformers import AutoImageProcessor, AutoModelForImageClassification

                path = self.model_path()
                model = AutoModelForImageClassification.from_pretrained(path, dtype=dtype, local_files_only=True)
                labels = [model.config.id2label[i] for i in range(len(model.config.id2label))]
                out.update(model=model.to(device).eval(), labels=labels, preprocess="auto",
                           processor=AutoImageProcessor.from_pretrained(path, local_files_only=True))
        elif task == "speech-recognition":
            if alias == "whisper-tiny.en":
                model, extractor, tok, decoding = bundled.load_whisper_tiny_en()
            else:
                from transformers import AutoProcessor, WhisperForConditionalGeneration

                path = self.model_path()
                model = WhisperForConditionalGeneration.from_pretrained(path, local_files_only=True)
                proc = AutoProcessor.from_pretrained(path, local_files_only=True)
                extractor, tok, decoding = proc.feature_extractor, proc.tokenizer, {}
            out.update(model=model.to(device).eval(), extractor=extractor, tokenizer=tok, decoding=decoding)
        elif task == "audio-classification":
            from transformers import AutoFeatureExtractor, AutoModelForAudioClassification

            path = self.model_path()
            model = AutoModelForAudioClassification.from_pretrained(path, dtype=dtype, local_files_only=True)
            labels = [str(model.config.id2label[i]) for i in range(len(model.config.id2label))]
            out.update(model=model.to(device).eval(), labels=labels,
                       extractor=AutoFeatureExtractor.from_pretrained(path, local_files_only=True))
        elif task == "features":
            out.update(self._load_features(alias, device))
        self._loaded = out
        return out

    def _load_features(self, alias: str, device: str) -> dict[str, Any]:
        """The feature model: which towers it has (image, text) and how it is called. Features are
        computed in float32 whatever ``dtype`` says: a distance over them needs the precision."""
        if alias == "efficientnet-lite0":
            return {"kind": "efficientnet", "model": bundled.load_efficientnet().to(device).eval(),
                    "preprocess": "efficientnet"}
        if alias == "all-minilm-l6-v2":
            from transformers import AutoModel, AutoTokenizer

            path = bundled.minilm_dir()
            model = AutoModel.from_pretrained(path, local_files_only=True).to(device).eval()
            return {"kind": "sentence", "model": model,
                    "tokenizer": AutoTokenizer.from_pretrained(path, local_files_only=True)}
        import json as _json

        path = self.model_path()
        try:
            model_type = _json.loads((path / "config.json").read_text()).get("model_type")
        except (OSError, ValueError) as exc:
            raise RunnerError(f"evaluator folder {path} has no readable config.json "
                              "(a transformers model folder)") from exc
        if model_type == "clip":
            from transformers import CLIPImageProcessor, CLIPModel, CLIPTokenizer

            clip: Any = CLIPModel.from_pretrained(path, local_files_only=True)
            return {"kind": "clip", "model": clip.to(device).eval(),
                    "processor": CLIPImageProcessor.from_pretrained(path, local_files_only=True), "preprocess": "auto",
                    "tokenizer": CLIPTokenizer.from_pretrained(path, local_files_only=True)}
        from transformers import AutoModel

        model = AutoModel.from_pretrained(path, local_files_only=True).to(device).eval()
        out: dict[str, Any] = {"kind": "auto", "model": model}
        if (path / "preprocessor_config.json").exists():
            from transformers import AutoImageProcessor

            out.update(processor=AutoImageProcessor.from_pretrained(path, local_files_only=True), preprocess="auto")
        if (path / "tokenizer_config.json").exists() or (path / "tokenizer.json").exists():
            from transformers import AutoTokenizer

            out["tokenizer"] = AutoTokenizer.from_pretrained(path, local_files_only=True)
        return out

    def close(self) -> None:
        self._loaded = None

    # -- running --------------------------------------------------------------------------

    def run(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Result]]:
        if not requests:
            return
        self.load()
        step = {"text-generation": self._generate, "zero-shot-classification": self._zero_shot,
                "image-classification": self._classify_images, "video-classification": self._classify_images,
                "speech-recognition": self._transcribe, "audio-classification": self._segment_labels,
                "features": self._features}[self.a.task]
        for start in range(0, len(requests), self.a.batch_size):
            batch = list(requests[start:start + self.a.batch_size])
            t0 = time.perf_counter()
            try:
                outputs = step(batch)
            except Exception as exc:  # noqa: BLE001 - a batch failed: retry one by one to isolate the culprit
                if len(batch) == 1:
                    yield batch[0], Result(None, error_text(exc), (time.perf_counter() - t0) * 1000)
                    continue
                for req in batch:
                    t1 = time.perf_counter()
                    try:
                        out = step([req])[0]
                    except Exception as one:  # noqa: BLE001
                        yield req, Result(None, error_text(one), (time.perf_counter() - t1) * 1000)
                    else:
                        yield req, Result(out, None, (time.perf_counter() - t1) * 1000)
                continue
            per = (time.perf_counter() - t0) * 1000 / len(batch)
            for req, out in zip(batch, outputs, strict=True):
                yield req, Result(out, None, per)

    def _generate(self, batch: list[Request]) -> list[str]:
        import torch

        m = self.load()
        tok, model = m["tokenizer"], m["model"]
        texts = []
        for req in batch:
            messages = ([{"role": "system", "content": self.a.system_prompt}] if self.a.system_prompt else [])
            messages.append({"role": "user", "content": req.prompt})
            texts.append(tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
        enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(m["device"])
        gen = batch[0].generation
        temperature = float(gen.get("temperature", 0.0))
        kwargs: dict[str, Any] = {"max_new_tokens": int(gen.get("max_new_tokens", 32)),
                                  "pad_token_id": tok.pad_token_id}
        if temperature > 0:
            torch.manual_seed(int(gen.get("seed", 0)))
            kwargs.update(do_sample=True, temperature=temperature, top_p=float(gen.get("top_p", 1.0)))
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        with torch.inference_mode():
            out = model.generate(**enc, **kwargs)
        new = out[:, enc["input_ids"].shape[1]:]
        return [t.strip() for t in tok.batch_decode(new, skip_special_tokens=True)]

    def _embed(self, texts: list[str]) -> Any:
        import torch

        m = self.load()
        enc = m["tokenizer"](texts, return_tensors="pt", padding=True, truncation=True, max_length=256).to(m["device"])
        with torch.inference_mode():
            hidden = m["model"](**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled.float(), dim=-1)

    def _zero_shot(self, batch: list[Request]) -> list[str]:
        out = []
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, req in enumerate(batch):
            if not req.choices:
                raise RunnerError("zero-shot-classification needs the task's inference.choices")
            groups.setdefault(req.choices, []).append(i)
        answers: dict[int, str] = {}
        for choices, idx in groups.items():
            labels = self._embed([self.a.hypothesis.replace("{}", c) for c in choices])
            texts = self._embed([batch[i].prompt for i in idx])
            best = (texts @ labels.T).argmax(dim=1).tolist()
            for i, b in zip(idx, best, strict=True):
                answers[i] = choices[b]
        out = [answers[i] for i in range(len(batch))]
        return out

    def _frames(self, req: Request, path: str | None = None) -> list[Any]:
        from PIL import Image, ImageSequence

        path = path or req.first_media()
        if path is None:
            raise RunnerError("the instance has no image or video file")
        if self.a.task == "features" and Path(path).suffix.lower() in (".mp4", ".mov"):
            from glc.compiler.udfs.video import read_frames

            arrays = read_frames(path)
            if not arrays:
                raise RunnerError(f"no frame could be read from {Path(path).name} (MJPEG MP4/MOV or an animated image)")
            frames = [Image.fromarray(a).convert("RGB") for a in arrays]
        else:
            with Image.open(path) as im:
                frames = [f.convert("RGB") for f in ImageSequence.Iterator(im)]
        if self.a.task in ("video-classification", "features") and len(frames) > self.a.frames:
            step = len(frames) / self.a.frames
            frames = [frames[int(i * step + step / 2)] for i in range(self.a.frames)]
        return frames[:1] if self.a.task == "image-classification" else frames

    def _image_features(self, images: list[Any]) -> Any:
        import torch

        m = self.load()
        pixels = self._pixels(images).to(m["device"])
        with torch.inference_mode():
            if m["kind"] == "efficientnet":
                return m["model"].extract_features(pixels).mean(dim=(2, 3)).float()
            if m["kind"] == "clip":
                feats = m["model"].get_image_features(pixel_values=pixels)
                return getattr(feats, "pooler_output", feats).float()
            if m["kind"] == "sentence" or "processor" not in m:
                raise RunnerError("the evaluator model has no image tower (it embeds text only)")
            out = m["model"](pixel_values=pixels)
            pooled = getattr(out, "pooler_output", None)
            pooled = pooled if pooled is not None else out.last_hidden_state.mean(dim=1)
            return pooled.reshape(len(images), -1).float()

    def _text_features(self, texts: list[str]) -> Any:
        import torch

        m = self.load()
        if "tokenizer" not in m:
            raise RunnerError("the evaluator model has no text tower; the metric embeds the prompt text")
        if m["kind"] == "clip":
            enc = m["tokenizer"](texts, return_tensors="pt", padding=True, truncation=True,
                                 max_length=m["model"].config.text_config.max_position_embeddings).to(m["device"])
            with torch.inference_mode():
                feats = m["model"].get_text_features(**enc)
            return getattr(feats, "pooler_output", feats).float()
        enc = m["tokenizer"](texts, return_tensors="pt", padding=True, truncation=True, max_length=256).to(m["device"])
        with torch.inference_mode():
            hidden = m["model"](**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return ((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)).float()

    def _file_features(self, req: Request, path: str) -> list[float]:
        if Path(path).suffix.lower() in (".wav", ".flac", ".mp3", ".ogg"):
            raise RunnerError("audio features need an audio evaluator model, which the hf runner does not load yet; "
                              "give this evaluator as a command route in profiles.yml")
        frames = self._frames(req, path)
        return [float(x) for x in self._image_features(frames).mean(dim=0).tolist()]

    def _features(self, batch: list[Request]) -> list[str]:
        import json as _json

        out = []
        for req in batch:
            pred = req.media.get("output")
            ref = req.media.get("reference")
            if ref is not None:
                ref_vec = self._file_features(req, ref)
            else:
                ref_vec = [float(x) for x in self._text_features([req.prompt])[0].tolist()]
            pred_vec = self._file_features(req, pred) if pred is not None else None
            out.append(_json.dumps({"prediction": pred_vec, "reference": ref_vec}, separators=(",", ":")))
        return out

    def _pixels(self, images: list[Any]) -> Any:
        import numpy as np
        import torch

        m = self.load()
        if m["preprocess"] == "auto":
            return m["processor"](images=images, return_tensors="pt")["pixel_values"]
        arrays = []
        for im in images:  # resize the short side to 256, centre-crop 224, (x * 255 - 127) / 128
            w, h = im.size
            s = 256 / min(w, h)
            im = im.resize((max(224, round(w * s)), max(224, round(h * s))), resample=3)
            w, h = im.size
            left, top = (w - 224) // 2, (h - 224) // 2
            a = np.asarray(im.crop((left, top, left + 224, top + 224)), dtype=np.float32)
            arrays.append((a - 127.0) / 128.0)
        return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()

    def _classify_images(self, batch: list[Request]) -> list[str]:
        import torch

        m = self.load()
        frames = [self._frames(req) for req in batch]
        flat = [f for fs in frames for f in fs]
        with torch.inference_mode():
            logits = m["model"](self._pixels(flat).to(m["device"], m["dtype"]))
            logits = getattr(logits, "logits", logits)
            probs = logits.float().softmax(dim=-1)
        labels: list[str] = m["labels"]
        out, pos = [], 0
        for req, fs in zip(batch, frames, strict=True):
            p = probs[pos:pos + len(fs)].mean(dim=0)
            pos += len(fs)
            if req.choices:
                allowed = [i for i, lab in enumerate(labels)
                           if any(c.lower() == n.strip().lower() for n in lab.split(",") for c in req.choices)]
                if not allowed:
                    raise RunnerError(f"no class of the model is named like the choices {list(req.choices)[:5]}")
                best = max(allowed, key=lambda i: float(p[i]))
            else:
                best = int(p.argmax())
            out.append(labels[best].split(",")[0].strip())
        return out

    def _audio(self, path: str | None, rate_out: int = 16000, max_s: float | None = None) -> Any:
        import numpy as np
        from scipy.io import wavfile
        from scipy.signal import resample_poly

        if path is None:
            raise RunnerError("the instance has no audio file")
        rate, data = wavfile.read(path)
        x = data.astype(np.float32)
        if data.dtype.kind == "i":
            x /= float(np.iinfo(data.dtype).max)
        elif data.dtype.kind == "u":
            x = (x - 128.0) / 128.0
        if x.ndim > 1:
            x = x.mean(axis=1)
        if rate <= 0:
            raise RunnerError(f"{Path(path).name}: a WAV file with sample rate {rate}")
        if rate != rate_out:
            g = np.gcd(rate, rate_out)
            x = resample_poly(x, rate_out // g, rate // g).astype(np.float32)
        return x[: int((self.a.max_audio_s if max_s is None else max_s) * rate_out)]

    def _segment_labels(self, batch: list[Request]) -> list[str]:
        """Per request, the top_k labels of each segment_s-second segment of its audio, as JSON."""
        import json as _json

        import numpy as np
        import torch

        m = self.load()
        extractor, model, labels = m["extractor"], m["model"], m["labels"]
        rate = int(getattr(extractor, "sampling_rate", 16000))
        step = max(1, round(self.a.segment_s * rate))
        pieces: list[Any] = []
        counts = []
        for req in batch:
            x = self._audio(req.first_media(), rate, self.a.segment_s * self.a.max_segments)
            # the last segment padded with silence: every segment is heard alone at the same length
            segs = [np.pad(x[i:i + step], (0, max(0, i + step - len(x)))) for i in range(0, len(x), step)]
            counts.append(len(segs))
            pieces += segs
        names: list[list[str]] = []
        for start in range(0, len(pieces), self.a.batch_size):
            chunk = pieces[start:start + self.a.batch_size]
            enc = extractor(chunk, sampling_rate=rate, padding=True, return_tensors="pt")
            enc = {k: (v.to(m["device"], m["dtype"]) if v.is_floating_point() else v.to(m["device"]))
                   for k, v in enc.items()}
            with torch.inference_mode():
                logits = model(**enc).logits.float()
            k = min(self.a.top_k, logits.shape[-1])
            names += [[labels[int(i)] for i in row] for row in logits.topk(k, dim=-1).indices.tolist()]
        out, pos = [], 0
        for n in counts:
            out.append(_json.dumps(names[pos:pos + n], ensure_ascii=False))
            pos += n
        return out

    def _transcribe(self, batch: list[Request]) -> list[str]:
        import torch

        m = self.load()
        model, tok, dec = m["model"], m["tokenizer"], m["decoding"]
        feats = m["extractor"]([self._audio(r.first_media()) for r in batch], sampling_rate=16000,
                               return_tensors="pt")["input_features"].to(m["device"], m["dtype"])
        start = [tok.convert_tokens_to_ids("<|startoftranscript|>"), tok.convert_tokens_to_ids("<|notimestamps|>")]
        eos = tok.convert_tokens_to_ids("<|endoftext|>")
        suppress = torch.tensor(sorted(set(dec.get("suppress_ids", [])) | {start[0]}), dtype=torch.long)
        suppress_begin = torch.tensor(dec.get("suppress_ids_begin", [eos]), dtype=torch.long)
        max_new = int(batch[0].generation.get("max_new_tokens", 128))
        ids = torch.tensor([start] * len(batch), device=m["device"])
        done = torch.zeros(len(batch), dtype=torch.bool, device=m["device"])
        with torch.inference_mode():
            enc = model.model.encoder(feats).last_hidden_state
            past = None
            step_ids = ids
            for step in range(min(max_new, model.config.max_target_positions - len(start))):
                out = model(encoder_outputs=(enc,), decoder_input_ids=step_ids, cache=past, use_cache=True)
                past = getattr(out, "cache", None) or out.past_key_values
                logits = out.logits[:, -1, :].float()
                logits[:, suppress] = float("-inf")
                if step == 0:
                    logits[:, suppress_begin] = float("-inf")
                nxt = logits.argmax(dim=-1)
                nxt = torch.where(done, torch.full_like(nxt, eos), nxt)
                ids = torch.cat([ids, nxt[:, None]], dim=1)
                done |= nxt == eos
                step_ids = nxt[:, None]
                if bool(done.all()):
                    break
        texts = tok.batch_decode(ids[:, len(start):], skip_special_tokens=True)
        return [t.strip() for t in texts]
