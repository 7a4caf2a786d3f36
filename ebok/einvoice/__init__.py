"""e-Faktura (SPEC §5, §5.1, §6): the banner, the activation window, the consent record."""
