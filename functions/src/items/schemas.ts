/** What clients may send to the items routes. Everything else is refused, not ignored. */
import { z } from 'zod';
import { DOCUMENT_ID_PATTERN } from '../store/ids.ts';
import { listOwnedQuery } from '../policy/ownership.ts';
import { textField } from '../validation/text.ts';

/** Text fields under the one text rule (validation/text.ts): a name is one line, a description may have several. */
const name = () => textField({ min: 3, max: 100 });
const description = () => textField({ min: 5, max: 500, multiline: true });

export const itemParams = z.strictObject({
  id: z
    .string()
    .regex(DOCUMENT_ID_PATTERN, 'must be an item id (20 letters and digits)')
    .meta({ examples: ['Jx3kQ9mZp2LrT8vWc4Yb'] }),
});

export const createItemBody = z.strictObject({
  name: name(),
  description: description(),
});

export const updateItemBody = z
  .strictObject({
    name: name().optional(),
    description: description().optional(),
  })
  .refine((patch) => patch.name !== undefined || patch.description !== undefined, 'give at least one field to change')
  .meta({ anyOf: [{ required: ['name'] }, { required: ['description'] }] });

export const listItemsQuery = listOwnedQuery;

export type CreateItem = z.output<typeof createItemBody>;
export type UpdateItem = z.output<typeof updateItemBody>;

/** What the items routes answer. */
export const itemResponse = z
  .object({
    id: z.string().meta({ examples: ['Jx3kQ9mZp2LrT8vWc4Yb'] }),
    ownerId: z.string(),
    name: z.string(),
    description: z.string(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Item' });

export const itemPageResponse = z.object({ items: z.array(itemResponse), nextCursor: z.string().nullable() }).meta({ id: 'ItemPage' });
