{#- A score a learned model or a judge gives each generated output (MUSIQ, aesthetic score,
    optical-flow score, GPT score): the number the metric's evaluator read (judgments.output,
    checked against the metric's range when it was read), mean over instances. A missing or
    failed output, or one without a reading, scores args.empty (0); a task without any reading
    (its evaluator not configured yet) has no score rather than 0. The mean is glc_exact_mean
    (math.fsum), the same whatever the order of the instances. -#}
{% macro prepare_refs(args, answer) %}CAST(NULL AS INTEGER) AS unused_ref{% endmacro %}
{% macro prepare(o, args, answer) %}CAST(NULL AS INTEGER) AS unused{% endmacro %}
{% macro value(o, args, answer) %}COALESCE(glc_reading_score({{ o }}), {{ args.empty | default(0.0) | sql_literal }}){% endmacro %}
{% macro stats(o, args, answer) %}CAST(NULL AS DOUBLE[]){% endmacro %}
{% macro payload(o, args, answer) %}CASE WHEN {{ o }} = '' THEN NULL ELSE 'read' END{% endmacro %}
{% macro aggregate(args) %}CASE WHEN COUNT(payload) = 0 THEN NULL ELSE glc_exact_mean(LIST(value)) END{% endmacro %}
