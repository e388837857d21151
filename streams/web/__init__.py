"""HTTP: the public listener (people, websites) and the admin listener (DPO, systems, operators), kept apart."""
