{#- Task scores that never depend on the order rows arrive in. DuckDB's AVG and SUM on DOUBLE
    add in arrival order, which changes with the order of records in a prediction file, the
    join and the threads, and with it the last bits of a float sum. -#}

{#- The mean of an instance-level value bounded well below 2^70 (a metric value in [0, 1], a
    PSNR in dB): each value is rounded to a multiple of 2^-52 and summed as an exact integer
    (HUGEINT), so the same values in any order give the same double, within 1.2e-16 of the
    exact mean. -#}
{% macro order_free_mean(x) -%}
CAST(SUM(CAST(ROUND({{ x }} * 4503599627370496.0) AS HUGEINT)) AS DOUBLE) / 4503599627370496.0 / NULLIF(COUNT({{ x }}), 0)
{%- endmacro %}

{#- The values of a task's instances as a list in instance-id order (for statistics of
    unbounded values, computed left to right over the list). -#}
{% macro in_instance_order(x) -%}
LIST({{ x }} ORDER BY instance_id)
{%- endmacro %}
