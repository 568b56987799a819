// A private endpoint to a Cloud HSM cluster, in an existing subnet.

param clusterName string
param subnetId string
param location string = resourceGroup().location

resource cluster 'Microsoft.HardwareSecurityModules/cloudHsmClusters@2025-03-31' existing = {
  name: clusterName
}

resource endpoint 'Microsoft.Network/privateEndpoints@2024-05-01' = {
  name: '${clusterName}-pe'
  location: location
  properties: {
    subnet: {
      id: subnetId
    }
    privateLinkServiceConnections: [
      {
        name: '${clusterName}-connection'
        properties: {
          privateLinkServiceId: cluster.id
          groupIds: [
            'cloudHsm'
          ]
        }
      }
    ]
  }
}

output endpointId string = endpoint.id
