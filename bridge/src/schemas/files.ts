/**
 * The JSON Schema files in bridge/schemas/ that are generated from zod schemas, by file name.
 * `npm run schemas` writes them (./write.ts); a test checks that the committed files equal these.
 */
import { CONFIG_SCHEMA_META, configFileSchema } from "../config/schema/index.js";
import { BRIDGE_INFO_SCHEMA_META, bridgeInfoSchema } from "./bridge-info.js";
import { COMMAND_SCHEMA_META, commandSchema } from "./command.js";
import { EVENT_SCHEMA_META, eventSchema } from "./event.js";
import { GUEST_STATE_SCHEMA_META, guestStateSchema } from "./guest-state.js";
import { schemaFileText, toJsonSchema } from "./json-schema.js";

export function generatedSchemaFiles(): Record<string, string> {
  return {
    "config.schema.json": schemaFileText(toJsonSchema(configFileSchema, CONFIG_SCHEMA_META)),
    "command.schema.json": schemaFileText(toJsonSchema(commandSchema, COMMAND_SCHEMA_META)),
    "guest-state.schema.json": schemaFileText(toJsonSchema(guestStateSchema, GUEST_STATE_SCHEMA_META)),
    "bridge-info.schema.json": schemaFileText(toJsonSchema(bridgeInfoSchema, BRIDGE_INFO_SCHEMA_META)),
    "event.schema.json": schemaFileText(toJsonSchema(eventSchema, EVENT_SCHEMA_META)),
  };
}
