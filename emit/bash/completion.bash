# dsqlenv completion for bash, from: eval "$(dsqlenv completion bash)"
# Commands, shells and flags come from dsqlenv itself, profile names from the profiles file
# (--config on the line, DSQLENV_CONFIG or the default file). Where dsqlenv offers nothing,
# bash's default completion (file names) applies.
_dsqlenv_complete() {
  local line
  COMPREPLY=()
  while IFS= read -r line; do
    COMPREPLY+=("$line")
  done < <({{.Bin}} __complete "--cur=${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[@]:1:COMP_CWORD-1}" 2>/dev/null)
}
complete -o default -F _dsqlenv_complete dsqlenv
