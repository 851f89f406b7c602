"""Tags: one tree of coloured labels that every business model can carry.

- `models`: `Tag` (bilingual name, colour from the Tabler palette, parent, materialized
  `path` so "this tag and everything under it" is one indexed prefix match) and
  `TaggedRecord` (a generic link: content type + object id + tag).
- `registry`: which models may carry tags (apps register theirs when they load).
- `selectors`: `tags_of(records)` for a page in one query, `with_tags(queryset, ...)`.
- `services`: every write (tree administration, bulk tag/untag), checked and audited.
"""
