{#
    pipeline_context() -> dict with orchestrator, pipeline_id, pipeline_run_id and, where the
    orchestrator has them, pipeline_task_id and run_reason.

    Only the environment variables named below are read (an allow-list): nothing else from the
    environment can reach a query comment or an upload. First match wins:
      1. explicit: var dbt_pipeline_costs_pipeline_id / _pipeline_run_id, else env DBT_PIPELINE_ID / DBT_PIPELINE_RUN_ID
      2. airflow: AIRFLOW_CTX_DAG_ID, AIRFLOW_CTX_DAG_RUN_ID, AIRFLOW_CTX_TASK_ID
      3. dbt_cloud: DBT_CLOUD_JOB_ID, DBT_CLOUD_RUN_ID, DBT_CLOUD_RUN_REASON_CATEGORY
      4. github_actions: GITHUB_REPOSITORY + GITHUB_WORKFLOW, GITHUB_RUN_ID + GITHUB_RUN_ATTEMPT, GITHUB_JOB
      5. none: pipeline = <project>.<target>.<command>, run = the invocation id
    A pipeline id without a run id falls back to the invocation id as the run.
#}
{#- Not dispatched: dbt renders query comments where `adapter` is undefined, and nothing here is SQL. -#}
{% macro pipeline_context() -%}
    {%- set explicit_id = var('dbt_pipeline_costs_pipeline_id', none) or env_var('DBT_PIPELINE_ID', '') -%}
    {%- set explicit_run = var('dbt_pipeline_costs_pipeline_run_id', none) or env_var('DBT_PIPELINE_RUN_ID', '') -%}
    {%- set ctx = {} -%}
    {%- if explicit_id -%}
        {%- do ctx.update({'orchestrator': 'explicit', 'pipeline_id': explicit_id | string, 'pipeline_run_id': explicit_run | string}) -%}
    {%- elif env_var('AIRFLOW_CTX_DAG_ID', '') -%}
        {%- do ctx.update({
            'orchestrator': 'airflow',
            'pipeline_id': env_var('AIRFLOW_CTX_DAG_ID'),
            'pipeline_run_id': env_var('AIRFLOW_CTX_DAG_RUN_ID', ''),
            'pipeline_task_id': env_var('AIRFLOW_CTX_TASK_ID', ''),
        }) -%}
    {%- elif env_var('DBT_CLOUD_JOB_ID', '') -%}
        {%- do ctx.update({
            'orchestrator': 'dbt_cloud',
            'pipeline_id': env_var('DBT_CLOUD_JOB_ID'),
            'pipeline_run_id': env_var('DBT_CLOUD_RUN_ID', ''),
            'run_reason': env_var('DBT_CLOUD_RUN_REASON_CATEGORY', ''),
        }) -%}
    {%- elif env_var('GITHUB_RUN_ID', '') -%}
        {%- do ctx.update({
            'orchestrator': 'github_actions',
            'pipeline_id': env_var('GITHUB_REPOSITORY', '') ~ '/' ~ env_var('GITHUB_WORKFLOW', ''),
            'pipeline_run_id': env_var('GITHUB_RUN_ID') ~ '-' ~ env_var('GITHUB_RUN_ATTEMPT', '1'),
            'pipeline_task_id': env_var('GITHUB_JOB', ''),
        }) -%}
    {%- else -%}
        {%- do ctx.update({
            'orchestrator': 'none',
            'pipeline_id': project_name ~ '.' ~ target.name ~ '.' ~ (flags.WHICH or 'run'),
            'pipeline_run_id': invocation_id,
        }) -%}
    {%- endif -%}
    {%- if not ctx.get('pipeline_run_id') -%}
        {%- do ctx.update({'pipeline_run_id': invocation_id}) -%}
    {%- endif -%}
    {#- Empty optional fields are left out rather than sent as "". -#}
    {%- set result = {} -%}
    {%- for key, value in ctx.items() if value -%}
        {%- do result.update({key: value}) -%}
    {%- endfor -%}
    {{ return(result) }}
{%- endmacro %}
