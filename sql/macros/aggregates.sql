{#- Task scores that never depend on the order rows arrive in. DuckDB's AVG and SUM on DOUBLE
    add in arrival order, which changes with the order of records in a prediction file, the
    join and the threads, and with it the last bits of a float sum. Every metric's aggregate
    takes its task mean (or sum of fractional values) through one of these macros; SUMs of
    integer counts held as doubles (BLEU's n-gram counts, WER's edits, micro-F1's TP/FP/FN,
    frame hits) are exact below 2^53 and need none. -#}

{#- The sum of instance-level values bounded well below 2^70 (a metric value in [0, 1], a PSNR
    in dB, a sum of IoUs): each value is rounded to a multiple of 2^-52 and summed as an exact
    integer (HUGEINT), so the same values in any order give the same double. -#}
{% macro order_free_sum(x) -%}
CAST(SUM(CAST(ROUND({{ x }} * 4503599627370496.0) AS HUGEINT)) AS DOUBLE) / 4503599627370496.0
{%- endmacro %}

{#- The mean of bounded instance-level values (as order_free_sum), within 1.2e-16 of the exact
    mean; NULL without values. ~50 ms on 6.5 M rows against AVG. -#}
{% macro order_free_mean(x) -%}
{{ order_free_sum(x) }} / NULLIF(COUNT({{ x }}), 0)
{%- endmacro %}

{#- The mean of instance-level values of any magnitude (a Chamfer distance, an MCD, an end-point
    error, a depth error): their correctly rounded sum (glc_exact_mean: math.fsum) over their
    count; NULL without values. A Python call per task over the list of its values: for the
    metrics whose instances are files, where the per-instance work dwarfs it. -#}
{% macro exact_mean(x) -%}
glc_exact_mean(LIST({{ x }}))
{%- endmacro %}

{#- The values of a task's instances as a list in instance-id order (for statistics of
    unbounded values, computed left to right over the list). -#}
{% macro in_instance_order(x) -%}
LIST({{ x }} ORDER BY instance_id)
{%- endmacro %}

{#- The level path's sums (group_parts, level_scores, the per-variant views), which go through more
    than one GROUP BY (per class of tasks, then per scope, then per part): level_units(x) is x as an
    exact integer count of 2^-52 (HUGEINT), added up exactly at every step, and from_units(n) the
    double nearest such a count. A level is reached when its score is > 0, so a value nearer 0 than
    2^-53 (a subnormal sigma) counts as +-1, not 0: a sum of positive values stays positive. A value
    from_units gave is a multiple of 2^-52 and comes back from level_units unchanged. -#}
{% macro level_units(x) -%}
CAST(COALESCE(NULLIF(ROUND({{ x }} * 4503599627370496.0), 0.0), SIGN({{ x }})) AS HUGEINT)
{%- endmacro %}

{% macro from_units(n) -%}
CAST({{ n }} AS DOUBLE) / 4503599627370496.0
{%- endmacro %}

{#- The sum of level values (sigmas and their sums, within 699 x 100 in size) in any order of the rows. -#}
{% macro level_sum(x) -%}
{{ from_units('SUM(' ~ level_units(x) ~ ')') }}
{%- endmacro %}

{#- The mean of a few level values per group (the levels of a scope's parts, one per modality), in
    any order of the rows; one value is taken as it is (as AVG does: a level over one part is that
    part's level, bit for bit). -#}
{% macro order_free_avg(x) -%}
CASE WHEN COUNT({{ x }}) <= 1 THEN MAX({{ x }}) ELSE {{ level_sum(x) }} / COUNT({{ x }}) END
{%- endmacro %}
