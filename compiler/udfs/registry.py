"""The registered UDFs: SQL name -> Python function and DuckDB signature.

Names are what metric macros call and what the compiled SQL shows. ``register`` installs
them on a DuckDB connection, vectorized: each call receives Arrow arrays for a batch.

A UDF that gives several numbers returns a STRUCT with named fields (``EDIT_STATS``, ...), never
a list read by position; its Python function returns a dict with exactly those keys (checked
per row: a missing or extra key is an error, not a silent NULL).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from glc.compiler.udfs import (
    boxes,
    captions,
    chroma,
    code,
    dense,
    features,
    images,
    numbers,
    pointclouds,
    readings,
    series,
    speech,
    text,
)
from glc.compiler.udfs.names import UDF_NAMES

# the STRUCTs UDFs return (and the metric macros store as an instance's ``stats``); field names
# are those of the TypedDicts the Python functions return
EDIT_STATS = "STRUCT(edits DOUBLE, ref_len DOUBLE)"
LABEL_COUNT = "STRUCT(label DOUBLE, intersection DOUBLE, predicted DOUBLE, reference DOUBLE)"
PQ_STATS = "STRUCT(iou_sum DOUBLE, true_positives DOUBLE, false_positives DOUBLE, false_negatives DOUBLE)"
FRAME_HITS = "STRUCT(hits DOUBLE, frames DOUBLE)"


@dataclass(frozen=True)
class Udf:
    name: str
    fn: Callable[..., Any]
    params: tuple[str, ...]
    returns: str
    doc: str


UDFS: dict[str, Udf] = {u.name: u for u in [
    Udf("glc_rouge_l", text.rouge_l, ("VARCHAR", "VARCHAR[]"), "DOUBLE",
        "ROUGE-L F1 of space-joined tokens, max over references"),
    Udf("glc_edit_stats", text.edit_stats, ("VARCHAR", "VARCHAR", "VARCHAR"), EDIT_STATS,
        "edit operations and reference length, in words or characters"),
    Udf("glc_box_iou", boxes.box_iou, ("VARCHAR", "VARCHAR", "VARCHAR"), "DOUBLE",
        "IoU of the first predicted and reference box (prediction box format xyxy or xywh)"),
    Udf("glc_coco_ap", boxes.coco_ap, ("VARCHAR[]", "DOUBLE[]"), "DOUBLE", "COCO-style AP over a task"),
    Udf("glc_group_mean", text.group_mean, ("VARCHAR[]", "DOUBLE[]"), "DOUBLE",
        "mean over groups of the mean value within each group (macro averaging)"),
    Udf("glc_pearson", numbers.pearson, ("DOUBLE[]", "DOUBLE[]"), "DOUBLE",
        "Pearson correlation of two lists (scipy's computation; 0 where undefined)"),
    Udf("glc_psnr", images.psnr, ("VARCHAR", "VARCHAR"), "DOUBLE", "PSNR in dB of two image files"),
    Udf("glc_ms_ssim", images.ms_ssim, ("VARCHAR", "VARCHAR"), "DOUBLE", "MS-SSIM of two image files"),
    # dense outputs, point clouds, per-frame boxes, captions and speech (docs/metrics.md, last section)
    Udf("glc_mask_label_counts", dense.mask_label_counts, ("VARCHAR", "VARCHAR"), LABEL_COUNT + "[]",
        "label, intersection, predicted and reference area per label of two label masks"),
    Udf("glc_point_label_counts", pointclouds.point_label_counts, ("VARCHAR", "VARCHAR"), LABEL_COUNT + "[]",
        "label, intersection, predicted and reference points per label of two labelled PLY clouds"),
    Udf("glc_pooled_miou", dense.pooled_miou, (LABEL_COUNT + "[][]",), "DOUBLE",
        "mean over reference labels of the task's pooled IoU"),
    Udf("glc_video_mask_iou", dense.video_mask_iou, ("VARCHAR", "VARCHAR"), "DOUBLE",
        "mean per-frame foreground IoU (J) of two mask videos"),
    Udf("glc_dice", dense.dice, ("VARCHAR", "VARCHAR"), "DOUBLE", "Dice coefficient of two binary masks"),
    Udf("glc_sad", dense.sad, ("VARCHAR", "VARCHAR"), "DOUBLE", "sum of absolute alpha differences / 1000"),
    Udf("glc_depth_error", dense.depth_error, ("VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR"), "DOUBLE",
        "AbsRel or RMS of a depth map or depth video"),
    Udf("glc_epe", dense.epe, ("VARCHAR", "VARCHAR", "VARCHAR"), "DOUBLE", "optical flow end-point error"),
    Udf("glc_l1_score", dense.l1_score, ("VARCHAR", "VARCHAR", "VARCHAR"), "DOUBLE",
        "1 - mean absolute pixel difference / 255 of two images or videos"),
    Udf("glc_video_psnr", dense.video_psnr, ("VARCHAR", "VARCHAR"), "DOUBLE", "mean per-frame PSNR of two videos"),
    Udf("glc_roc_auc", dense.roc_auc, ("VARCHAR", "VARCHAR"), "DOUBLE",
        "pixel ROC AUC of a probability map against a mask"),
    Udf("glc_s_measure", dense.s_measure, ("VARCHAR", "VARCHAR", "VARCHAR"), "DOUBLE",
        "structure measure of a saliency map or video"),
    Udf("glc_pq_stats", dense.pq_stats, ("VARCHAR", "VARCHAR"), PQ_STATS,
        "matched IoU sum, TP, FP and FN of class-agnostic panoptic segments"),
    Udf("glc_chamfer", pointclouds.chamfer, ("VARCHAR", "VARCHAR"), "DOUBLE", "Chamfer distance of two PLY clouds"),
    Udf("glc_part_miou", pointclouds.part_miou, ("VARCHAR", "VARCHAR"), "DOUBLE",
        "mean part IoU of one labelled PLY shape"),
    Udf("glc_success_auc", series.success_auc, ("VARCHAR", "VARCHAR"), "DOUBLE",
        "area under the tracking success plot of per-frame boxes"),
    Udf("glc_viou", series.viou, ("VARCHAR", "VARCHAR"), "DOUBLE", "spatio-temporal vIoU of per-frame boxes"),
    Udf("glc_cider", captions.cider, ("VARCHAR[]",), "DOUBLE", "CIDEr-D of a task's answers"),
    Udf("glc_codebleu", code.codebleu, ("VARCHAR[]",), "DOUBLE",
        "CodeBLEU (n-gram, weighted n-gram, syntax and data-flow match) of a task's answers"),
    Udf("glc_frame_label_hits", readings.frame_label_hits, ("VARCHAR", "VARCHAR[]", "VARCHAR", "DOUBLE"), FRAME_HITS,
        "hits and frames of an evaluator's per-frame (or per-event) labels against the reference labels"),
    Udf("glc_mcd", speech.mcd, ("VARCHAR", "VARCHAR"), "DOUBLE", "mel cepstral distortion of two WAV files"),
    Udf("glc_chroma_pcc", chroma.chroma_pcc, ("VARCHAR", "VARCHAR"), "DOUBLE",
        "Pearson correlation of the pitch-class (chroma) profiles of two WAV files (glc's PCC of music)"),
    Udf("glc_amota", series.amota, ("VARCHAR[]",), "DOUBLE", "AMOTA of a task's frames of boxes (no identities)"),
    # learned-model metrics over evaluator readings (feature vectors, scores; compiler/udfs/features.py)
    Udf("glc_frechet", features.frechet, ("VARCHAR[]",), "DOUBLE",
        "Frechet distance of the prediction and reference feature vectors of a task's readings"),
    Udf("glc_feature_cosine", features.cosine, ("VARCHAR",), "DOUBLE",
        "100 x cosine similarity of a reading's prediction and reference feature vectors"),
    Udf("glc_exact_mean", features.exact_mean, ("DOUBLE[]",), "DOUBLE",
        "mean of a list from its correctly rounded sum (independent of the order of the values)"),
    Udf("glc_reading_score", features.reading_score, ("VARCHAR",), "DOUBLE",
        "the number an evaluator read (a quality model's score, a judge's grade)"),
    Udf("glc_lab_rmse", dense.lab_rmse, ("VARCHAR", "VARCHAR"), "DOUBLE", "RMSE of two images in CIE L*a*b*"),
]}
if tuple(UDFS) != UDF_NAMES:  # the compile reads the names alone (names.py): they must agree
    raise RuntimeError(f"compiler/udfs/names.py lists {list(UDF_NAMES)}, the registry has {list(UDFS)}")


_TOKEN = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_]*)|(\[\])|([(),]))")


def arrow_type(duck: str) -> Any:
    """The Arrow type of a DuckDB type of a UDF's signature: DOUBLE, VARCHAR (TEXT), ``T[]`` lists
    and ``STRUCT(name T, ...)``. Read by this small parser, not by sqlglot: registering the UDFs is
    part of every build that scores instances, and sqlglot's DuckDB dialect takes longer to import
    than the UDFs take to install."""
    import pyarrow as pa

    tokens: list[str] = []
    pos = 0
    while pos < len(duck.rstrip()):
        m = _TOKEN.match(duck, pos)
        if m is None:
            raise ValueError(f"UDF type {duck} has no Arrow type here")
        tokens.append(m.group(m.lastindex or 0))
        pos = m.end()
    simple = {"DOUBLE": pa.float64(), "VARCHAR": pa.string(), "TEXT": pa.string()}

    def take(i: int) -> tuple[Any, int]:
        word = tokens[i].upper() if i < len(tokens) else ""
        if word == "STRUCT" and i + 1 < len(tokens) and tokens[i + 1] == "(":
            fields, i = [], i + 2
            while True:
                name = tokens[i] if i < len(tokens) else ""
                if not (name[:1].isalpha() or name[:1] == "_"):
                    raise ValueError(f"UDF type {duck} has no Arrow type here")
                kind, i = take(i + 1)
                fields.append((name, kind))
                sep = tokens[i] if i < len(tokens) else ""
                i += 1
                if sep == ")":
                    t = pa.struct(fields)
                    break
                if sep != ",":
                    raise ValueError(f"UDF type {duck} has no Arrow type here")
        elif word in simple:
            t, i = simple[word], i + 1
        else:
            raise ValueError(f"UDF type {duck} has no Arrow type here")
        while i < len(tokens) and tokens[i] == "[]":
            t, i = pa.list_(t), i + 1
        return t, i

    out, end = take(0)
    if end != len(tokens):
        raise ValueError(f"UDF type {duck} has no Arrow type here")
    return out


def _checked(value: Any, t: Any) -> Any:
    """A Python result as Arrow reads it for type ``t``; a dict for a STRUCT must have exactly its
    fields (pyarrow would read a missing key as NULL and drop an unknown one)."""
    import pyarrow as pa

    if value is None:
        return None
    if pa.types.is_struct(t):
        names = [t.field(i).name for i in range(t.num_fields)]
        if not isinstance(value, dict) or value.keys() != set(names):
            got = list(value) if isinstance(value, dict) else type(value).__name__
            raise ValueError(f"a UDF returned {got} for a STRUCT with the fields {names}")
        return {n: _checked(value[n], t.field(n).type) for n in names}
    if pa.types.is_list(t):
        return [_checked(v, t.value_type) for v in value]
    return value


def arrow_call(fn: Callable[..., Any], returns: str) -> Callable[..., Any]:
    """``fn`` over Arrow arrays (a batch of rows), its results an Arrow array of ``returns``."""
    import pyarrow as pa

    out_type = arrow_type(returns)
    nested = pa.types.is_struct(out_type) or pa.types.is_list(out_type)

    def call(*arrays: Any) -> Any:
        columns = [a.to_pylist() for a in arrays]
        results = list(map(fn, *columns))
        if nested:
            results = [_checked(r, out_type) for r in results]
        return pa.array(results, type=out_type)

    return call


def _vectorized(fn: Callable[..., Any], params: tuple[str, ...], returns: str) -> Callable[..., Any]:
    import inspect

    call = arrow_call(fn, returns)
    # DuckDB checks the arity of the Python function against the declared parameters
    call.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(f"a{i}", inspect.Parameter.POSITIONAL_ONLY) for i in range(len(params))])
    return call


def register(con: Any) -> None:
    """Install every UDF on a DuckDB connection (idempotent)."""
    import duckdb

    for udf in UDFS.values():
        try:
            con.remove_function(udf.name)
        except (duckdb.InvalidInputException, duckdb.CatalogException):
            pass
        con.create_function(udf.name, _vectorized(udf.fn, udf.params, udf.returns), list(udf.params), udf.returns,
                            type="arrow", null_handling="special", side_effects=False)
