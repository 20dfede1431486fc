import { type ASTVisitor, GraphQLError, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** Fields that describe the schema: GraphQL introspection, and federation's SDL for routers. */
const schemaFields = new Set(['__schema', '__type']);

function refuseSchemaFields(context: ValidationContext): ASTVisitor {
  const queryType = context.getSchema().getQueryType();
  return {
    Field(node) {
      const name = node.name.value;
      if (schemaFields.has(name) || (name === '_service' && context.getParentType() === queryType)) {
        context.reportError(
          new GraphQLError(`Introspection is disabled: "${name}" is not served.`, {
            nodes: node,
            extensions: { code: 'INTROSPECTION_DISABLED' },
          }),
        );
      }
    },
  };
}

/**
 * `--introspection false`: refuses `__schema`, `__type` and federation's
 * `_service { sdl }` (the same schema, printed) at validation, over HTTP and
 * WebSocket alike, with `INTROSPECTION_DISABLED`.
 */
export function useIntrospectionSwitch(enabled: boolean): Plugin {
  return {
    onValidate({ addValidationRule }) {
      if (!enabled) addValidationRule(refuseSchemaFields);
    },
  };
}
