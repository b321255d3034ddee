#compdef dsqlenv
# dsqlenv completion for zsh, from: eval "$(dsqlenv completion zsh)" after compinit.
# Commands, shells and flags come from dsqlenv itself, profile names from the profiles file
# (--config on the line, DSQLENV_CONFIG or the default file). Where dsqlenv offers nothing,
# file names are completed.
_dsqlenv() {
  local -a candidates
  candidates=("${(@f)$({{.Bin}} __complete "--cur=${words[CURRENT]}" "${(@)words[2,CURRENT-1]}" 2>/dev/null)}")
  candidates=("${(@)candidates:#}")
  if (( ${#candidates} )); then
    compadd -a candidates
  else
    _files
  fi
}
if (( ! $+functions[compdef] )); then
  autoload -Uz compinit && compinit
fi
compdef _dsqlenv dsqlenv
