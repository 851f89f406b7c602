"""Every write of the sales app, one module per area: `leads`, `pipeline` (opportunities),
`catalogue`, `inventory`, `quotes`, `orders` (orders, invoices, payments, contracts),
`targets`. Call them as `from rapport.sales.services import leads; leads.lead_create(...)`."""
