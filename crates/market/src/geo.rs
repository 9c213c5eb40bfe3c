//! Where households are, only as precisely as a neighbour may know: locations
//! are coarsened to a grid of 0.001° (about 110 m north–south, less east–west)
//! before they are stored, so no exact address is ever kept or shown.

use serde::{Deserialize, Serialize};

/// A coarse location: latitude and longitude in thousandths of a degree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    lat_e3: i32,
    lng_e3: i32,
}

impl Location {
    /// Coarsens a position to the nearest grid point; `None` outside the globe
    /// or for a non-finite coordinate.
    pub fn coarse(lat: f64, lng: f64) -> Option<Location> {
        let valid = lat.is_finite() && lng.is_finite() && lat.abs() <= 90.0 && lng.abs() <= 180.0;
        valid.then(|| Location {
            lat_e3: (lat * 1000.0).round() as i32,
            lng_e3: (lng * 1000.0).round() as i32,
        })
    }

    /// From stored grid coordinates; `None` when they are off the globe.
    pub fn from_grid(lat_e3: i64, lng_e3: i64) -> Option<Location> {
        let lat_e3 = i32::try_from(lat_e3).ok().filter(|v| v.abs() <= 90_000)?;
        let lng_e3 = i32::try_from(lng_e3).ok().filter(|v| v.abs() <= 180_000)?;
        Some(Location { lat_e3, lng_e3 })
    }

    pub fn grid(self) -> (i32, i32) {
        (self.lat_e3, self.lng_e3)
    }

    pub fn lat(self) -> f64 {
        f64::from(self.lat_e3) / 1000.0
    }

    pub fn lng(self) -> f64 {
        f64::from(self.lng_e3) / 1000.0
    }

    /// Great-circle distance in km (haversine, mean Earth radius 6371 km).
    /// A display figure, not money or energy, so floating point is fine here.
    pub fn distance_km(self, other: Location) -> f64 {
        const EARTH_RADIUS_KM: f64 = 6371.0;
        let (lat1, lat2) = (self.lat().to_radians(), other.lat().to_radians());
        let d_lat = lat2 - lat1;
        let d_lng = (other.lng() - self.lng()).to_radians();
        let a = (d_lat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (d_lng / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_KM * a.sqrt().atan2((1.0 - a).sqrt())
    }

    /// Hours to add to UTC for local solar time here (15° of longitude an hour).
    pub fn solar_offset_hours(self) -> f64 {
        self.lng() / 15.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coarsening_keeps_three_decimals_only() {
        let home = Location::coarse(30.267_153, -97.743_061).unwrap();
        assert_eq!(home.grid(), (30_267, -97_743));
        assert_eq!(Location::coarse(30.2675, 0.0).unwrap().grid().0, 30_268);
    }

    #[test]
    fn off_globe_and_non_finite_positions_are_refused() {
        assert_eq!(Location::coarse(90.5, 0.0), None);
        assert_eq!(Location::coarse(0.0, -181.0), None);
        assert_eq!(Location::coarse(f64::NAN, 0.0), None);
        assert_eq!(Location::from_grid(91_000, 0), None);
    }

    #[test]
    fn haversine_distance_matches_known_figures() {
        // One degree of arc is 6371 km × π / 180 ≈ 111.195 km, along the equator or a meridian.
        let degree = 6371.0 * std::f64::consts::PI / 180.0;
        let origin = Location::coarse(0.0, 0.0).unwrap();
        assert!((origin.distance_km(Location::coarse(0.0, 1.0).unwrap()) - degree).abs() < 1e-9);
        assert!((origin.distance_km(Location::coarse(1.0, 0.0).unwrap()) - degree).abs() < 1e-9);
        // At 60° north a degree of longitude is half as long (cos 60° = ½), less the
        // great circle's small shortcut over the parallel.
        let north = Location::coarse(60.0, 0.0).unwrap().distance_km(Location::coarse(60.0, 1.0).unwrap());
        assert!(north < degree / 2.0 && north > degree / 2.0 - 0.01, "{north}");
        let austin = Location::coarse(30.267, -97.743).unwrap();
        assert_eq!(austin.distance_km(austin), 0.0);
        // One grid step north is about 111 m.
        let north = Location::from_grid(30_268, -97_743).unwrap();
        assert!((austin.distance_km(north) - 0.111).abs() < 0.001);
    }
}
