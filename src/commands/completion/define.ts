/** The definition of `pvx completion <shell>` and of the hidden `pvx __complete` the scripts call: help, options and flag → input mapping; run and render load only when a command runs. */
import { Command } from 'commander';
import type { PrintContext } from '../shared/dispatch.js';

/** Register `pvx completion <shell>` on the root. */
export function registerCompletion(program: Command, print: PrintContext): void {
  program
    .command('completion')
    .description('print the shell completion script for bash, zsh or fish')
    .argument('<shell>', 'bash, zsh or fish')
    .addHelpText('after', `
The script asks pvx itself for the candidates (commands, options, their values, inventory nodes,
lab names, VMIDs of a lab): nothing is asked of any node while completing.

Install:
  bash  echo 'source <(pvx completion bash)' >> ~/.bashrc
        or: pvx completion bash > ~/.local/share/bash-completion/completions/pvx
  zsh   echo 'source <(pvx completion zsh)' >> ~/.zshrc      (after compinit)
        or: pvx completion zsh > "\${fpath[1]}/_pvx"
  fish  pvx completion fish > ~/.config/fish/completions/pvx.fish`)
    .action(async (shell: string) => (await import('./print.js')).printCompletionScript(print, shell));
}

/** Register the hidden `pvx __complete -- <words…>` that the completion scripts call. */
export function registerCompleteHook(program: Command, print: PrintContext): void {
  program
    .command('__complete', { hidden: true })
    .argument('[words...]')
    .helpOption(false)
    .action(async (words: string[]) => (await import('./print.js')).printCompletions(print, program, words));
}
