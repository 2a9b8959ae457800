// Kept in step with package.json by a unit test; a constant keeps start-up free of file reads.
export const TOOL_VERSION = '0.1.0';
