{#- AMOTA (nuScenes tracking) over the task, each instance one frame of boxes: MOTAR averaged over 40
    recall thresholds, per reference label, without track identities (glc_amota). -#}
{% macro prepare_refs(args, answer) %}CAST(NULL AS INTEGER) AS unused_ref{% endmacro %}
{% macro prepare(o, args, answer) %}CAST(NULL AS INTEGER) AS unused{% endmacro %}
{% macro value(o, args, answer) %}CAST(NULL AS DOUBLE){% endmacro %}
{% macro stats(o, args, answer) %}CAST(NULL AS DOUBLE[]){% endmacro %}
{% macro payload(o, args, answer) %}CAST(TO_JSON({'pred': {{ o }}, 'ref': reference}) AS VARCHAR){% endmacro %}
{% macro aggregate(args) %}100.0 * glc_amota(LIST(payload)){% endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['boxes'] %}
