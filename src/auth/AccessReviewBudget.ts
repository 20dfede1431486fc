import { GraphQLError } from 'graphql';

/**
 * How many distinct access reviews one operation may cause (docs/security.md).
 * Lives in the request's context; a question already answered in the shared
 * cache costs nothing, and the same question twice is charged once.
 */
export class AccessReviewBudget {
  private readonly charged = new Set<string>();

  constructor(readonly max: number) {}

  /** Records a review about to be made; throws TOO_MANY_ACCESS_REVIEWS past the budget. */
  charge(question: string): void {
    if (this.charged.has(question)) return;
    if (this.charged.size >= this.max) {
      throw new GraphQLError(
        `This operation needs more than ${this.max} distinct access reviews; name fewer namespaces in one operation.`,
        { extensions: { code: 'TOO_MANY_ACCESS_REVIEWS', max: this.max } },
      );
    }
    this.charged.add(question);
  }

  /** Distinct reviews charged so far. */
  get used(): number {
    return this.charged.size;
  }
}
