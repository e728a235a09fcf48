package desired

// ECS settings on Prefect 3. On Prefect 2 the pipeline saves them into the ecs-task/<env>
// block (infrastructure/ecs-task-<env>.py). Prefect 3 has no infrastructure blocks, so
// they become job variables of each deployment in a pool of type ECSPoolType, merged
// UNDER the file's own work_pool.job_variables (the file wins per key). Job variables,
// not the pool's base job template: the pipeline never overwrites an existing pool's
// template (pools are often shared by teams and environments), dev and prod differ,
// and job variables show in the plan, the read-back and the drift check, and the server
// validates them against the pool's template when the deployment is written.
//
// The AWS keys never become job variables in plain text (anyone with read access to the
// API, the UI and the plan would see them): they live in an aws-credentials block
// document (prefect-aws's AwsCredentials, the secret key a SecretStr field), and the
// job variable aws_credentials names its fields with Prefect's block placeholders,
// {"aws_access_key_id": "{{ prefect.blocks.aws-credentials.<env>.aws_access_key_id }}",
// "aws_secret_access_key": "{{ prefect.blocks.aws-credentials.<env>.aws_secret_access_key }}"},
// which the worker resolves, secrets included, when it builds the job
// (prefect/workers/base.py BaseJobConfiguration.from_template_and_values calls
// prefect/utilities/templating/__init__.py resolve_block_document_references, whose
// _resolve_single_placeholder reads the block by name with its secrets).
//
// Not a block document reference {"$ref": {"block_document_id": ...}}, although the
// worker resolves that too: a 3.8.3 server refuses it in a deployment's job variables
// (422 "... is valid under each of ..."). Its validation
// (prefect/utilities/schema_tools/validation.py preprocess_schema) turns every block
// definition of the template into oneOf [the block's schema, a reference], and a
// reference object is valid under both, since AwsCredentials' schema allows any key.
// Measured on 3.8.3 with prefect-aws 0.7.11 (TestRealPrefect3ECSSettings in
// ci/deploycli). Prefect's own `prefect deploy` resolves block placeholders in
// prefect.yaml before it sends the deployment (prefect/cli/deploy/_core.py), so there the
// secret would be stored in plain text; this writer sends the placeholders as they are.

import "strconv"

// ECSPoolType is the work pool type (prefect-aws's ECS worker) the ECS settings are for.
const ECSPoolType = "ecs"

// CredentialsBlockType is the block type of the AWS keys: prefect-aws's AwsCredentials.
const CredentialsBlockType = "aws-credentials"

// ECS are the pipeline's ECS settings (ECS_*, AWS_REGION) for a Prefect 3 ecs pool;
// an empty field is not set and adds nothing.
type ECS struct {
	Cluster, VPCID, ExecutionRoleARN, TaskRoleARN string
	// CPU and Memory are ECS task sizes (CPU units, MiB); 0 = not set.
	CPU, Memory int64
	// Region is AWS_REGION: region_name of the job variable aws_credentials (nothing
	// secret in it).
	Region string
	// CredentialsBlock names the aws-credentials block document that holds the AWS
	// keys; "" when no keys are given: the worker's own AWS credentials (its IAM role,
	// boto's default chain) then apply.
	CredentialsBlock string
}

// IsZero says no setting is given.
func (e ECS) IsZero() bool { return e == ECS{} }

// JobVariables are the settings as job variables of the ECS worker's base job template
// (variables cluster, vpc_id, execution_role_arn, task_role_arn, cpu, memory,
// aws_credentials); nil when none is set.
func (e ECS) JobVariables() map[string]any {
	jv := map[string]any{}
	for _, s := range []struct{ key, value string }{
		{"cluster", e.Cluster}, {"vpc_id", e.VPCID},
		{"execution_role_arn", e.ExecutionRoleARN}, {"task_role_arn", e.TaskRoleARN},
	} {
		if s.value != "" {
			jv[s.key] = s.value
		}
	}
	if e.CPU > 0 {
		jv["cpu"] = e.CPU
	}
	if e.Memory > 0 {
		jv["memory"] = e.Memory
	}
	creds := map[string]any{}
	if e.CredentialsBlock != "" {
		for _, f := range []string{"aws_access_key_id", "aws_secret_access_key"} {
			creds[f] = BlockField(CredentialsBlockType, e.CredentialsBlock, f)
		}
	}
	if e.Region != "" {
		creds["region_name"] = e.Region
	}
	if len(creds) > 0 {
		jv["aws_credentials"] = creds
	}
	if len(jv) == 0 {
		return nil
	}
	return jv
}

// BlockField is Prefect's placeholder for one field of a block document: the worker
// replaces it with the field's value (a secret one in clear) when it builds the job.
func BlockField(typeSlug, name, field string) string {
	return "{{ prefect.blocks." + typeSlug + "." + name + "." + field + " }}"
}

// ParseSize reads ECS_CPU or ECS_MEMORY: "" is 0 (not set), else a positive whole number.
func ParseSize(s string) (int64, bool) {
	if s == "" {
		return 0, true
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}

// MergeJobVariables is the job_variables a Prefect 3 writer sends and the live plan
// compares: pool (what the pipeline adds for the deployment's pool, e.g. ECS.JobVariables)
// under file (work_pool.job_variables; the file wins per key, a nested mapping such as
// env is replaced whole, as the defaults merge does), then image as "image" when not
// "". Neither input is changed.
func MergeJobVariables(pool, file map[string]any, image string) map[string]any {
	jv := make(map[string]any, len(pool)+len(file)+1)
	for k, v := range pool {
		jv[k] = v
	}
	for k, v := range file {
		jv[k] = v
	}
	if image != "" {
		jv["image"] = image
	}
	return jv
}
