"""The registered UDFs: SQL name -> Python function and DuckDB signature.

Names are what metric macros call and what the compiled SQL shows. ``register`` installs
them on a DuckDB connection, vectorized: each call receives Arrow arrays for a batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from glc.compiler.udfs import boxes, images, numbers, text


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
    Udf("glc_edit_stats", text.edit_stats, ("VARCHAR", "VARCHAR", "VARCHAR"), "DOUBLE[]",
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
]}


def _vectorized(fn: Callable[..., Any], params: tuple[str, ...], returns: str) -> Callable[..., Any]:
    import inspect

    import pyarrow as pa

    out_type = pa.list_(pa.float64()) if returns.endswith("[]") else pa.float64()

    def call(*arrays: Any) -> Any:
        columns = [a.to_pylist() for a in arrays]
        return pa.array(list(map(fn, *columns)), type=out_type)

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
