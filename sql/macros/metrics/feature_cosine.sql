{#- CLIP-style scores (CLIP score, CLIP image/style similarity, CLAP): 100 x the cosine
    similarity of the generated file's feature vector and the reference's (its media file, or
    the prompt text), read by the metric's evaluator (glc_feature_cosine). As torchmetrics'
    CLIPScore: the task score is the mean over instances, clamped at 0 (the clamp applies to the
    mean, not to each instance). A missing or failed generated file scores 0; a task without any
    reading (its evaluator not configured yet) has no score rather than 0. The mean is glc_exact_mean
    (math.fsum), the same whatever the order of the instances. -#}
{% macro prepare_refs(args, answer) %}CAST(NULL AS INTEGER) AS unused_ref{% endmacro %}
{% macro prepare(o, args, answer) %}CAST(NULL AS INTEGER) AS unused{% endmacro %}
{% macro value(o, args, answer) %}COALESCE(glc_feature_cosine({{ o }}), 0.0){% endmacro %}
{% macro stats(o, args, answer) %}CAST(NULL AS DOUBLE[]){% endmacro %}
{% macro payload(o, args, answer) %}CASE WHEN {{ o }} = '' THEN NULL ELSE 'read' END{% endmacro %}
{% macro aggregate(args) %}CASE WHEN COUNT(payload) = 0 THEN NULL ELSE GREATEST(glc_exact_mean(LIST(value)), 0.0) END{% endmacro %}
