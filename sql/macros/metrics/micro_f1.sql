{% from 'macros/answer.sql' import normalize_answer, py_lower, py_collapse %}
{#- Micro F1 over label sets: the prediction is split on `args.separator`, each label normalized
    as the references (implementation.answer), empty labels dropped, repeats counted once; per
    instance stats STRUCT(true_positives DOUBLE, false_positives DOUBLE, false_negatives DOUBLE);
    F1 = 2 TP / (2 TP + FP + FN). -#}
{% macro prepare_ref(r, args, answer) %}{{ normalize_answer(r, answer) }}{% endmacro %}
{#- gold is sorted: LIST_DISTINCT lists the labels in its hash table's order, which no other engine
    (nor another DuckDB version) reproduces. -#}
{% macro prepare_refs(args, answer) -%}
LIST_SORT(LIST_FILTER(LIST_DISTINCT(COALESCE(p.ref_prepared, CAST([] AS VARCHAR[]))), x -> x <> '')) AS gold
{%- endmacro %}
{#- The predicted labels. With a separator of characters that lower-casing, case context and
    whitespace leave alone (',' ';' '|' ...), and no punctuation or article rule, normalizing the
    whole answer and then splitting it (trimming each label) gives the same labels as normalizing
    each label, without a regular expression inside a list lambda (compiled again per list). -#}
{% macro predicted(o, args, answer) -%}
{%- set sep = args.get('separator', ',') -%}
{%- set whole = sep and (sep | list | reject('in', ',;|/&+#*=~^!?@$%<>') | list | length) == 0
                and not answer.strip_punctuation and not answer.remove_articles -%}
{%- if whole -%}
{%- set e = o -%}
{%- if answer.lowercase %}{% set e = py_lower(e) %}{% endif -%}
{%- if answer.collapse_whitespace %}{% set e = py_collapse(e) %}{% endif -%}
LIST_FILTER(LIST_DISTINCT(LIST_TRANSFORM(STRING_SPLIT({{ e }}, {{ sep | sql_literal }}), x -> TRIM(x))), x -> x <> '')
{%- else -%}
LIST_FILTER(LIST_DISTINCT(LIST_TRANSFORM(STRING_SPLIT({{ o }}, {{ sep | sql_literal }}), x -> {{ normalize_answer('x', answer) }})), x -> x <> '')
{%- endif -%}
{%- endmacro %}
{% macro prepare(o, args, answer) %}{{ predicted(o, args, answer) }} AS pred_labels{% endmacro %}
{% macro value(o, args, answer) %}CAST(NULL AS DOUBLE){% endmacro %}
{% macro stats(o, args, answer) -%}
{
  'true_positives': CAST(LEN(LIST_INTERSECT(pred_labels, gold)) AS DOUBLE),
  'false_positives': CAST(LEN(pred_labels) - LEN(LIST_INTERSECT(pred_labels, gold)) AS DOUBLE),
  'false_negatives': CAST(LEN(gold) - LEN(LIST_INTERSECT(pred_labels, gold)) AS DOUBLE)
}
{%- endmacro %}
{% macro payload(o, args, answer) %}CAST(NULL AS VARCHAR){% endmacro %}
{% macro aggregate(args) -%}
{%- set tp, fp, fn = 'SUM(stats.true_positives)', 'SUM(stats.false_positives)', 'SUM(stats.false_negatives)' -%}
COALESCE(100.0 * 2 * {{ tp }} / NULLIF(2 * {{ tp }} + {{ fp }} + {{ fn }}, 0), 0.0)
{%- endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['labels', 'label'] %}
