/** The export subcommands (SFT, verifier, predictions). */
export const exportCommands = [] as const
