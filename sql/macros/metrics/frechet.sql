{#- Frechet distance (FID, FVD, FAD) between the task's generated set and its reference set, from
    the feature vectors the metric's evaluator read (judgments.output: JSON {"prediction": [...],
    "reference": [...]}, the answer `o` of a judged task). glc_frechet fits a Gaussian to each set
    (sample covariance, n - 1) and returns |mu1 - mu2|^2 + tr S1 + tr S2 - 2 tr sqrt(S1 S2); a
    missing or failed generated file adds no vector to the generated set, its reference still
    counts. NULL (no score) when a set has fewer than two vectors. -#}
{% macro prepare_refs(args, answer) %}CAST(NULL AS INTEGER) AS unused_ref{% endmacro %}
{% macro prepare(o, args, answer) %}CAST(NULL AS INTEGER) AS unused{% endmacro %}
{% macro value(o, args, answer) %}CAST(NULL AS DOUBLE){% endmacro %}
{% macro stats(o, args, answer) %}CAST(NULL AS DOUBLE[]){% endmacro %}
{% macro payload(o, args, answer) %}CASE WHEN {{ o }} = '' THEN NULL ELSE {{ o }} END{% endmacro %}
{% macro aggregate(args) %}glc_frechet(LIST(payload)){% endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['image', 'video', 'audio', 'pointcloud'] %}
