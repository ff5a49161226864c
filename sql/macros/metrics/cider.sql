{#- CIDEr-D (Vedantam et al. 2015, the COCO caption code's variant) over the task: the IDF comes
    from all the task's references, so the score is computed at once from every instance's
    answer and references (glc_cider), reported x100 as COCO results are. -#}
{% macro prepare_refs(args, answer) %}CAST(NULL AS INTEGER) AS unused_ref{% endmacro %}
{% macro prepare(o, args, answer) %}CAST(NULL AS INTEGER) AS unused{% endmacro %}
{% macro value(o, args, answer) %}CAST(NULL AS DOUBLE){% endmacro %}
{% macro stats(o, args, answer) %}CAST(NULL AS DOUBLE[]){% endmacro %}
{% macro payload(o, args, answer) %}CAST(TO_JSON({'pred': {{ o }}, 'refs': ref_texts}) AS VARCHAR){% endmacro %}
{% macro aggregate(args) %}100.0 * glc_cider(LIST(payload)){% endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['text'] %}
