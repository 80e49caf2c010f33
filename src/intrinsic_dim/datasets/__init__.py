"""Raw datasets: fetched from a local mirror or downloaded, checked, and split once into a prepared file."""
