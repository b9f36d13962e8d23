"""The builder workspace (/admin): pages, thin states and components beside the public pages."""
