{#- CodeBLEU (Ren et al. 2020, the codebleu package's computation) over the task: its n-gram,
    weighted n-gram, syntax and data-flow terms are corpus statistics, so the score is computed at
    once from every instance's answer and references (glc_codebleu, which parses with tree-sitter),
    reported x100. args.lang names the programming language (default python). -#}
{% macro prepare_refs(args, answer) %}CAST(NULL AS INTEGER) AS unused_ref{% endmacro %}
{% macro prepare(o, args, answer) %}CAST(NULL AS INTEGER) AS unused{% endmacro %}
{% macro value(o, args, answer) %}CAST(NULL AS DOUBLE){% endmacro %}
{% macro stats(o, args, answer) %}CAST(NULL AS DOUBLE[]){% endmacro %}
{% macro payload(o, args, answer) -%}
CAST(TO_JSON({'pred': {{ o }}, 'refs': ref_texts, 'lang': {{ (args.lang or 'python') | sql_literal }}}) AS VARCHAR)
{%- endmacro %}
{% macro aggregate(args) %}100.0 * glc_codebleu(LIST(payload)){% endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['text'] %}
