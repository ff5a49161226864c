{% import 'macros/metrics/regression.sql' as regression %}
{% from 'macros/aggregates.sql' import order_free_mean %}
{#- Pearson correlation (PCC), by the kind of the reference:
    number: over the task, the first number of the answer (args.invalid_value when it has none)
      against the reference number, exactly as the regression macro computes it (args.kind:
      pearson);
    audio: per instance, Pearson's r of the pitch-class (chroma) profiles of the generated and
      the reference WAV (glc_chroma_pcc, compiler/udfs/chroma.py: glc's definition, 0 where
      undefined), 100 x the mean over instances. -#}
{% macro prepare_refs(args, answer) %}CAST(NULL AS INTEGER) AS unused_ref{% endmacro %}
{% macro prepare(o, args, answer) %}CAST(NULL AS INTEGER) AS unused{% endmacro %}
{% macro value(o, args, answer) -%}
CASE WHEN ref_kind = 'audio' THEN glc_chroma_pcc({{ o }}, ref_texts[1]) END
{%- endmacro %}
{% macro stats(o, args, answer) -%}
CASE WHEN ref_kind = 'number' THEN {{ regression.stats(o, args, answer) }} END
{%- endmacro %}
{% macro payload(o, args, answer) %}CAST(NULL AS VARCHAR){% endmacro %}
{% macro aggregate(args) -%}
CASE WHEN COUNT(stats) > 0 THEN {{ regression.aggregate(args) }}
     ELSE 100.0 * {{ order_free_mean('value') }} END
{%- endmacro %}
{#- The reference kinds (instances.ref_kind) this metric can score; instances of other kinds are left out. -#}
{% set references = ['number', 'audio'] %}
