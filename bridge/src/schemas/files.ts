/**
 * The JSON Schema files in bridge/schemas/ that are generated from zod schemas, by file name.
 * `npm run schemas` writes them (./write.ts); a test checks that the committed files equal these.
 */
import { CONFIG_SCHEMA_META, configFileSchema } from "../config/schema/index.js";
import { COMMAND_SCHEMA_META, commandSchema } from "./command.js";
import { schemaFileText, toJsonSchema } from "./json-schema.js";

export function generatedSchemaFiles(): Record<string, string> {
  return {
    "config.schema.json": schemaFileText(toJsonSchema(configFileSchema, CONFIG_SCHEMA_META)),
    "command.schema.json": schemaFileText(toJsonSchema(commandSchema, COMMAND_SCHEMA_META)),
  };
}
