#compdef dsqlenv
# dsqlenv completion for zsh, from: eval "$(dsqlenv completion zsh)" after compinit, or as
# _dsqlenv in a directory on fpath.
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
# From fpath (a package's vendor-completions or site-functions), zsh runs this file as _dsqlenv
# at the first Tab: the function is defined above, so complete that Tab too. From eval, register.
if [[ ${funcstack[1]-} == _dsqlenv ]]; then
  _dsqlenv "$@"
else
  if (( ! $+functions[compdef] )); then
    autoload -Uz compinit && compinit
  fi
  compdef _dsqlenv dsqlenv
fi
