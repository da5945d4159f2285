{#
    upload_run_results(results) -- the on-run-end hook (docs/run-results.md):

        on-run-end:
          - "{{ dbt_pipeline_costs.upload_run_results(results) }}"

    Appends one row per node result to dbt_node_results and one row per invocation to
    dbt_invocations (columns: run_results_columns(); derived fields: docs/cost-rules.md section 7).
    Runs its own INSERT statements and returns '' (the hook itself sends nothing).

    Speed is the point (an upload of 2,000 results must not add seconds to a build): each result
    becomes one Python list of its column values turned into JSON by tojson, with no macro call
    or dispatch per result; all rows are escaped in ONE call; rows are packed into statements by
    size (var dbt_pipeline_costs_upload_max_statement_chars) and each statement carries its rows as
    one JSON string literal that the warehouse parses (run_results_insert_sql).

    Never silent: every skip is logged, a row over the size limit is sent alone with a warning, a
    failing statement fails the hook.
#}
{% macro upload_run_results(results) -%}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set prefix = 'dbt_pipeline_costs: upload_run_results: ' -%}
    {%- set enabled = dbt_pipeline_costs._upload_var('dbt_pipeline_costs_upload_enabled') -%}
    {%- if enabled is not sameas true and enabled is not sameas false -%}
        {{ exceptions.raise_compiler_error(prefix ~ "var dbt_pipeline_costs_upload_enabled must be true or false; got '" ~ enabled ~ "'") }}
    {%- endif -%}
    {%- if not enabled -%}
        {{ log(prefix ~ 'disabled by var dbt_pipeline_costs_upload_enabled: false; nothing uploaded', info=true) }}
        {{ return('') }}
    {%- endif -%}
    {%- if flags.EMPTY or invocation_args_dict.get('empty') -%}
        {{ log(prefix ~ 'skipped: this is an --empty run; nothing uploaded', info=true) }}
        {{ return('') }}
    {%- endif -%}
    {%- set started = modules.datetime.datetime.now(modules.pytz.utc) -%}
    {%- set max_chars = dbt_pipeline_costs._upload_int_var('dbt_pipeline_costs_upload_max_statement_chars', 1000) -%}
    {%- set message_max = dbt_pipeline_costs._upload_int_var('dbt_pipeline_costs_upload_message_max_chars', 0) -%}
    {%- set job_type = dbt_pipeline_costs._run_results_job_type() -%}

    {#- The two tables, as the package's models name them in this project. -#}
    {%- set relations = {} -%}
    {%- for table in ['dbt_node_results', 'dbt_invocations'] -%}
        {%- set node = graph.nodes.get('model.dbt_pipeline_costs.' ~ table) -%}
        {%- set relation = adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias) if node else none -%}
        {%- if relation is none -%}
            {%- set create = ' Create the package tables once: `dbt build --select dbt_pipeline_costs` (the whole package)'
                ~ ' or only these two: `dbt run --select dbt_pipeline_costs.run_results`; later runs upload their results.' -%}
            {%- if node -%}
                {%- do exceptions.warn('WARNING: ' ~ prefix ~ 'skipped, nothing uploaded: table '
                    ~ (node.database ~ '.' if node.database else '') ~ node.schema ~ '.' ~ node.alias
                    ~ ' does not exist yet.' ~ create) -%}
            {%- else -%}
                {%- do exceptions.warn('WARNING: ' ~ prefix ~ 'skipped, nothing uploaded: model dbt_pipeline_costs.' ~ table
                    ~ ' is disabled in this project (models/run_results of the package must be enabled).' ~ create) -%}
            {%- endif -%}
            {{ return('') }}
        {%- endif -%}
        {%- do relations.update({table: relation}) -%}
    {%- endfor -%}

    {%- set node_rows = dbt_pipeline_costs._run_results_node_rows(results, message_max) -%}
    {%- set invocation_row = dbt_pipeline_costs._run_results_invocation_row(results, job_type, started) -%}

    {#- Escape every row in one call: rows are joined by a newline (never inside tojson output,
        which escapes control characters, nor added by escaping) and split back. -#}
    {%- set escaped = dbt_pipeline_costs.escape_string_literal((node_rows + [invocation_row]) | join('\n')).split('\n') -%}

    {%- set labels = results | map(attribute='node') | map(attribute='unique_id') | list -%}
    {%- set built = modules.datetime.datetime.now(modules.pytz.utc) -%}
    {%- set stats = namespace(statements=0, largest=0) -%}
    {%- do dbt_pipeline_costs.run_results_transaction('begin') -%}
    {%- for table, rows in [('dbt_node_results', escaped[:-1]), ('dbt_invocations', escaped[-1:])] -%}
        {%- set sent = dbt_pipeline_costs._run_results_send(relations[table], table, rows, labels if table == 'dbt_node_results' else [invocation_id], max_chars, prefix) -%}
        {%- set stats.statements = stats.statements + sent[0] -%}
        {%- set stats.largest = [stats.largest, sent[1]] | max -%}
    {%- endfor -%}
    {%- do dbt_pipeline_costs.run_results_transaction('commit') -%}

    {%- set seconds = (modules.datetime.datetime.now(modules.pytz.utc) - started).total_seconds() -%}
    {{ log(prefix ~ 'uploaded ' ~ node_rows | length ~ ' node results and 1 invocation in ' ~ stats.statements
        ~ ' statements (largest ' ~ stats.largest ~ ' chars) in ' ~ '%.3f' | format(seconds) ~ ' s ('
        ~ '%.3f' | format((built - started).total_seconds()) ~ ' s building rows)', info=true) }}
    {{ return('') }}
{%- endmacro %}


{#-
    _upload_var(name) -> var `name`, else the package's default. The hook runs as a node of the
    user's project, where the defaults in this package's dbt_project.yml are not visible, so they
    are repeated here; tests/test_upload.py checks the two lists are equal.
-#}
{% macro _upload_var(name) -%}
    {%- set defaults = {
        'dbt_pipeline_costs_upload_enabled': true,
        'dbt_pipeline_costs_upload_max_statement_chars': 500000,
        'dbt_pipeline_costs_upload_message_max_chars': 4096,
        'dbt_pipeline_costs_job_type': none,
    } -%}
    {{ return(var(name, defaults[name])) }}
{%- endmacro %}


{#- A whole-number var at least `minimum`, else a compiler error naming it. -#}
{% macro _upload_int_var(name, minimum) -%}
    {%- set value = dbt_pipeline_costs._upload_var(name) -%}
    {%- if value is not number or value is sameas true or value is sameas false or value != value | int or value < minimum -%}
        {{ exceptions.raise_compiler_error("dbt_pipeline_costs: var " ~ name ~ " must be a whole number >= " ~ minimum ~ "; got '" ~ value ~ "'") }}
    {%- endif -%}
    {{ return(value | int) }}
{%- endmacro %}


{#- job_type of this invocation (docs/cost-rules.md section 7): the var, else the environment. -#}
{% macro _run_results_job_type() -%}
    {%- set allowed = ['ci', 'merge', 'scheduled', 'other'] -%}
    {%- set configured = dbt_pipeline_costs._upload_var('dbt_pipeline_costs_job_type') -%}
    {%- if configured is not none -%}
        {%- if configured not in allowed -%}
            {{ exceptions.raise_compiler_error("dbt_pipeline_costs: var dbt_pipeline_costs_job_type must be one of "
                ~ allowed | join(', ') ~ " (or null to read it from the environment); got '" ~ configured ~ "'") }}
        {%- endif -%}
        {{ return(configured) }}
    {%- endif -%}
    {%- set dbt_cloud = {
        'scheduled': 'scheduled',
        'github_pull_request': 'ci', 'gitlab_merge_request': 'ci', 'azure_pull_request': 'ci',
        'merge': 'merge',
    } -%}
    {%- set github = {
        'pull_request': 'ci', 'pull_request_target': 'ci',
        'push': 'merge', 'merge_group': 'merge',
        'schedule': 'scheduled',
    } -%}
    {%- set reason = env_var('DBT_CLOUD_RUN_REASON_CATEGORY', '') -%}
    {%- set event = env_var('GITHUB_EVENT_NAME', '') -%}
    {%- if reason in dbt_cloud -%}
        {{ return(dbt_cloud[reason]) }}
    {%- elif event in github -%}
        {{ return(github[event]) }}
    {%- elif env_var('AIRFLOW_CTX_DAG_RUN_ID', '').startswith('scheduled__') -%}
        {{ return('scheduled') }}
    {%- endif -%}
    {{ return('other') }}
{%- endmacro %}


{#- The dbt_invocations row: JSON text of the values in run_results_columns('dbt_invocations') order. -#}
{% macro _run_results_invocation_row(results, job_type, uploaded_at) -%}
    {%- set utc = modules.pytz.utc -%}
    {%- set context = dbt_pipeline_costs.pipeline_context() -%}
    {%- set args = invocation_args_dict -%}
    {%- set selectors = {} -%}
    {%- for key in ['select', 'exclude', 'selector'] if args.get(key) -%}
        {%- do selectors.update({key: args.get(key)}) -%}
    {%- endfor -%}
    {%- set started_at = run_started_at.astimezone(utc) -%}
    {%- set row = [
        invocation_id,
        project_name,
        flags.WHICH,
        target.name,
        target.type,
        dbt_version,
        dbt_pipeline_costs._package_version(),
        started_at.strftime('%Y-%m-%dT%H:%M:%S.%f+00:00'),
        uploaded_at.strftime('%Y-%m-%dT%H:%M:%S.%f+00:00'),
        (uploaded_at - started_at).total_seconds(),
        true if args.get('full_refresh') else false,
        tojson(selectors) if selectors else none,
        context.get('orchestrator'),
        context.get('pipeline_id'),
        context.get('pipeline_run_id'),
        context.get('pipeline_task_id'),
        context.get('run_reason'),
        job_type,
        results | length,
    ] -%}
    {{ return(tojson(row) or dbt_pipeline_costs._run_results_row_json(row)) }}
{%- endmacro %}


{#- The version of this package: kept equal to `version:` in its dbt_project.yml (tests/test_upload.py checks). -#}
{% macro _package_version() -%}
    {{ return('0.5.0') }}
{%- endmacro %}


{#-
    The dbt_node_results rows: one JSON text per result, values in run_results_columns('dbt_node_results')
    order. This loop is the hot path: plain attribute reads, no macro call per result.
-#}
{% macro _run_results_node_rows(results, message_max) -%}
    {%- set no_step = [none, none] -%}
    {%- set no_value = {} -%}
    {%- set folders = dbt_pipeline_costs.node_folders(results | map(attribute='node') | map(attribute='original_file_path') | list) -%}
    {%- set rows = [] -%}
    {%- for r in results -%}
        {%- set node = r.node -%}
        {%- set config = node.config -%}
        {%- set resource_type = node.resource_type ~ '' -%}
        {%- set tags = node.tags -%}
        {%- set tags = (tags if tags is defined else config.tags) or [] -%}
        {%- set tags = tags | sort -%}
        {#- timing: compile and execute steps. dbt 1.11 keeps naive UTC datetimes, whose text is
            ISO-8601 'YYYY-MM-DD HH:MM:SS[.ffffff]': the offset is appended (a concatenation costs
            less than a strftime call per value; the hot path). -#}
        {%- set steps = {} -%}
        {%- for step in r.timing -%}
            {%- set begun = step.started_at -%}
            {%- set ended = step.completed_at -%}
            {%- do steps.update({step.name: [
                none if begun is none else begun ~ '+00:00',
                none if ended is none else ended ~ '+00:00',
            ]}) -%}
        {%- endfor -%}
        {%- set compile = steps.get('compile', no_step) -%}
        {%- set execute_step = steps.get('execute', no_step) -%}
        {%- set response = r.adapter_response -%}
        {%- set response_value = response.get if response else no_value.get -%}
        {%- set message = r.message -%}
        {%- if message is not none and message is not string -%}
            {%- set message = message ~ '' -%}
        {%- endif -%}
        {%- set truncated = message is not none and message | length > message_max -%}
        {#- freshness: a model's freshness.build_after config; a source's warn_after / error_after / filter -#}
        {%- if resource_type == 'model' -%}
            {%- set freshness = config.freshness -%}
            {%- set build_after = freshness.build_after if freshness else none -%}
            {%- set has_freshness = build_after is not none and build_after.count is not none and build_after.period -%}
        {%- elif resource_type == 'source' -%}
            {%- set freshness = node.freshness -%}
            {%- set build_after = none -%}
            {%- set has_freshness = freshness and (freshness.warn_after or freshness.error_after) -%}
        {%- else -%}
            {%- set freshness = none -%}
            {%- set build_after = none -%}
            {%- set has_freshness = false -%}
        {%- endif -%}
        {#- `state` is not a dbt Core config: when set it sits among the extra keys config.get reads. -#}
        {%- set state = config.get('state') -%}
        {%- set updates_on = build_after.updates_on if build_after else none -%}
        {%- set row = [
            invocation_id,
            node.unique_id,
            resource_type,
            node.package_name,
            node.name,
            node.original_file_path,
            folders[loop.index0],
            none if resource_type == 'source' else config.materialized,
            tojson(tags),
            tags[0] if tags else none,
            r.status ~ '',
            r.thread_id,
            compile[0],
            compile[1],
            execute_step[0],
            execute_step[1],
            r.execution_time,
            response_value('rows_affected'),
            response_value('bytes_processed'),
            response_value('bytes_billed'),
            response_value('slot_ms'),
            response_value('job_id'),
            response_value('query_id'),
            response_value('job_run_id'),
            response_value('project_id'),
            response_value('location'),
            response_value('code'),
            message[:message_max] if truncated else message,
            truncated,
            r.failures,
            none if freshness is none else tojson(freshness.to_dict()),
            build_after.count if build_after else none,
            (build_after.period ~ '') if build_after and build_after.period else none,
            none if updates_on is none else (updates_on.value if updates_on.value is defined else updates_on ~ ''),
            none if state is none else tojson(state),
            true if has_freshness or state is not none else false,
        ] -%}
        {#- tojson gives none for a value JSON cannot hold (e.g. a Decimal): the slow path keeps the row. -#}
        {%- do rows.append(tojson(row) or dbt_pipeline_costs._run_results_row_json(row)) -%}
    {%- endfor -%}
    {{ return(rows) }}
{%- endmacro %}


{#- JSON text of a row holding a value tojson cannot serialise: such values are sent as their text. -#}
{% macro _run_results_row_json(row) -%}
    {%- set plain = [] -%}
    {%- for value in row -%}
        {%- if value is none or value is string or value is boolean or value is integer or value is float -%}
            {%- do plain.append(value) -%}
        {%- else -%}
            {%- do plain.append(value ~ '') -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(tojson(plain)) }}
{%- endmacro %}


{#-
    Sends `rows` (escaped JSON texts, one per row) to `relation` in as few statements as the size
    limit allows; returns [statements, largest statement in characters]. A statement is the
    adapter's INSERT (run_results_insert_sql) with the rows as one literal: '[' row,row,... ']'.
    A row too big for the limit on its own is sent alone, with a warning: never dropped.
-#}
{% macro _run_results_send(relation, table, rows, labels, max_chars, prefix) -%}
    {%- if not rows -%}
        {{ return([0, 0]) }}
    {%- endif -%}
    {%- set token = '__dbt_pipeline_costs_rows__' -%}
    {%- set parts = (dbt_pipeline_costs.run_results_insert_sql(relation, dbt_pipeline_costs.run_results_columns(table), "'" ~ token ~ "'") ~ '').split(token) -%}
    {%- set overhead = (parts[0] | length) + (parts[1] | length) + 2 -%}
    {%- set batches = [] -%}
    {#- ns.size: characters of the rows in the open batch, commas included; -1 when it is empty.
        Read once per row (attribute reads are what a Jinja loop pays for). -#}
    {%- set ns = namespace(start=0, size=-1) -%}
    {%- for row in rows -%}
        {%- set n = row | length -%}
        {%- set size = ns.size -%}
        {%- if size >= 0 and overhead + size + 1 + n > max_chars -%}
            {%- set index = loop.index0 -%}
            {%- do batches.append([ns.start, index]) -%}
            {%- set ns.start = index -%}
            {%- set size = -1 -%}
        {%- endif -%}
        {%- if size < 0 and overhead + n > max_chars -%}
            {%- do exceptions.warn('WARNING: ' ~ prefix ~ 'the ' ~ table ~ ' row of ' ~ labels[loop.index0] ~ ' makes a statement of '
                ~ (overhead + n) ~ ' characters, over dbt_pipeline_costs_upload_max_statement_chars (' ~ max_chars
                ~ '): sent in a statement of its own') -%}
        {%- endif -%}
        {%- set ns.size = n if size < 0 else size + 1 + n -%}
    {%- endfor -%}
    {%- do batches.append([ns.start, rows | length]) -%}
    {%- set stats = namespace(largest=0) -%}
    {%- for start, end in batches -%}
        {%- set sql = parts[0] ~ '[' ~ rows[start:end] | join(',') ~ ']' ~ parts[1] -%}
        {%- set stats.largest = [stats.largest, sql | length] | max -%}
        {%- call statement('upload_run_results', fetch_result=false, auto_begin=false) -%}
            {{ sql }}
        {%- endcall -%}
    {%- endfor -%}
    {{ return([batches | length, stats.largest]) }}
{%- endmacro %}


{#-
    run_results_transaction(step) -> runs `begin` or `commit` where the warehouse has transactions,
    so an upload lands whole or not at all; nothing elsewhere.
-#}
{% macro run_results_transaction(step) -%}
    {{ return(adapter.dispatch('run_results_transaction', 'dbt_pipeline_costs')(step)) }}
{%- endmacro %}

{% macro default__run_results_transaction(step) -%}
    {#- BigQuery, Spark / Databricks: each INSERT is atomic on its own; no session transaction. -#}
{%- endmacro %}

{% macro duckdb__run_results_transaction(step) -%}
    {% do run_query(step) %}
{%- endmacro %}

{% macro postgres__run_results_transaction(step) -%}
    {#- Postgres: the connection is not autocommit; without a commit the rows would be rolled back at exit. -#}
    {% do run_query(step) %}
{%- endmacro %}

{% macro snowflake__run_results_transaction(step) -%}
    {% do run_query(step) %}
{%- endmacro %}
