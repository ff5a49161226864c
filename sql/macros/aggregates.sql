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
{{ from_units('SUM(' ~ to_units(x) ~ ')') }}
{%- endmacro %}

{#- The two halves of order_free_sum, for sums that go through more than one GROUP BY (the level
    sums of group_parts: per class of tasks, then per scope): to_units(x) is x as an exact integer
    count of 2^-52 (HUGEINT), summed exactly at every step; from_units(n) is the double nearest such
    a sum. from_units of to_units gives back any double that from_units gave (an integer-valued
    double times a power of two), so summing one such value changes nothing. -#}
{% macro to_units(x) -%}
CAST(ROUND({{ x }} * 4503599627370496.0) AS HUGEINT)
{%- endmacro %}

{% macro from_units(n) -%}
CAST({{ n }} AS DOUBLE) / 4503599627370496.0
{%- endmacro %}

{#- The mean of a few bounded values per group (the levels of a scope's parts, at most one per
    modality): order_free_mean, except that one value is taken as it is (as AVG does, so a level
    over one part is that part's level, bit for bit). -#}
{% macro order_free_avg(x) -%}
CASE WHEN COUNT({{ x }}) <= 1 THEN MAX({{ x }}) ELSE {{ order_free_mean(x) }} END
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
