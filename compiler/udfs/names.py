"""The names of the registered UDFs (``registry.UDFS``), without importing their modules.

A compile checks the ``glc_*`` calls of every model against these names; importing the registry
itself would load numpy and the metric modules, which only ``glc run`` needs. ``registry`` checks
at import that its UDFs are exactly these names."""

from __future__ import annotations

UDF_NAMES: tuple[str, ...] = (  # in the registry's order
    "glc_rouge_l",
    "glc_edit_stats",
    "glc_box_iou",
    "glc_coco_ap",
    "glc_group_mean",
    "glc_pearson",
    "glc_psnr",
    "glc_ms_ssim",
    "glc_mask_label_counts",
    "glc_point_label_counts",
    "glc_pooled_miou",
    "glc_video_mask_iou",
    "glc_dice",
    "glc_sad",
    "glc_depth_error",
    "glc_epe",
    "glc_l1_score",
    "glc_video_psnr",
    "glc_roc_auc",
    "glc_s_measure",
    "glc_pq_stats",
    "glc_chamfer",
    "glc_part_miou",
    "glc_success_auc",
    "glc_viou",
    "glc_cider",
    "glc_codebleu",
    "glc_frame_label_hits",
    "glc_mcd",
    "glc_chroma_pcc",
    "glc_amota",
    "glc_frechet",
    "glc_feature_cosine",
    "glc_exact_mean",
    "glc_reading_score",
    "glc_lab_rmse",
)
