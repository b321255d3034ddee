# dsqlenv completion for PowerShell, from:
#   dsqlenv completion powershell | Out-String | Invoke-Expression
# Commands, shells and flags come from dsqlenv itself, profile names from the profiles file
# (--config on the line, DSQLENV_CONFIG or the default file).
Register-ArgumentCompleter -Native -CommandName 'dsqlenv', 'dsqlenv.exe' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    $words = @($commandAst.CommandElements |
        Where-Object { $_.Extent.EndOffset -lt $cursorPosition -or ($_.Extent.EndOffset -eq $cursorPosition -and $wordToComplete -eq '') } |
        Select-Object -Skip 1 | ForEach-Object { $_.ToString() })
    & {{.Bin}} __complete "--cur=$wordToComplete" @words 2>$null | ForEach-Object {
        [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
    }
}
