/** stateguard's version: printed by `--version` and written into SARIF reports. */
export const VERSION = '1.0.0';
