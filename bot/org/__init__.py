"""The organization: unit tree, members and roles, invites, account links, access rules."""
